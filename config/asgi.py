"""ASGI entry point: HTTP through Django's own handler, WebSockets through the Channels router."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Set up Django (apps, settings) before anything below imports models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from config.routing import websocket_urlpatterns  # noqa: E402
from core.checks import refuse_insecure_secret_key  # noqa: E402
from realtime.auth import websocket_stack  # noqa: E402

# A bare `daphne config.asgi:application` runs no system checks: refuse the default key here too.
refuse_insecure_secret_key()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": websocket_stack(URLRouter(websocket_urlpatterns)),
    }
)
