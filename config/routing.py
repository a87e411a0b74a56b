"""WebSocket routes; each app that speaks WebSocket adds its patterns here."""

from django.urls import path

from realtime.consumers import ConsoleConsumer

websocket_urlpatterns: list = [
    path("ws/console/", ConsoleConsumer.as_asgi()),
]
