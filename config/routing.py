"""WebSocket routes; each app that speaks WebSocket adds its patterns here."""

from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path

from hotline.webchat.consumers import VisitorConsumer
from realtime.consumers import ConsoleConsumer

websocket_urlpatterns: list = [
    path("ws/console/", ConsoleConsumer.as_asgi()),
    # The anonymous visitor's chat: only from a page of this site. Unlike the console (whose
    # token clients send no Origin), a handshake without an Origin is refused here too.
    path("ws/chat/", AllowedHostsOriginValidator(VisitorConsumer.as_asgi())),
]
