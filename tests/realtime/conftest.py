"""Console fixtures: ``console(user, ...)`` opens a WebSocket through the real ASGI stack."""

import contextlib
import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

ORIGIN = b"http://testserver"


@database_sync_to_async
def _token(user) -> str:
    from knox.models import AuthToken

    return AuthToken.objects.create(user=user)[1]


@database_sync_to_async
def _session_cookie(user) -> str:
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


class Console:
    """A connected console; frames are parsed JSON."""

    def __init__(self, communicator: WebsocketCommunicator):
        self.ws = communicator
        self.hello: dict | None = None

    async def frame(self, timeout: float = 2) -> dict:
        return json.loads(await self.ws.receive_from(timeout))

    async def frames_until(self, type_: str, timeout: float = 2) -> list[dict]:
        """Frames up to and including the first of ``type_``."""
        seen = []
        while True:
            seen.append(await self.frame(timeout))
            if seen[-1]["type"] == type_:
                return seen

    async def send(self, data) -> None:
        if isinstance(data, bytes):
            await self.ws.send_to(bytes_data=data)
        elif isinstance(data, str):
            await self.ws.send_to(text_data=data)
        else:
            await self.ws.send_json_to(data)

    async def silent(self, timeout: float = 0.3) -> bool:
        return await self.ws.receive_nothing(timeout)

    async def closed_with(self, timeout: float = 2) -> int | None:
        """Skips frames until the server closes; returns the close code."""
        while True:
            message = await self.ws.receive_output(timeout)
            if message["type"] == "websocket.close":
                return message.get("code")


def communicator(path: str, headers: list) -> WebsocketCommunicator:
    from config.asgi import application

    return WebsocketCommunicator(application, path, headers=headers)


@pytest.fixture
def console():
    """``async with console(user, last_event_id=N, auth="token"|"session")`` -> Console."""

    @contextlib.asynccontextmanager
    async def open_console(user=None, *, last_event_id=None, auth="token", origin=ORIGIN):
        headers = [(b"origin", origin)] if origin else []
        if user is not None and auth == "token":
            headers.append((b"authorization", f"Token {await _token(user)}".encode()))
        elif user is not None:
            headers.append((b"cookie", f"sessionid={await _session_cookie(user)}".encode()))
        path = "/ws/console/"
        if last_event_id is not None:
            path += f"?last_event_id={last_event_id}"
        ws = communicator(path, headers)
        connected, _ = await ws.connect(timeout=10)  # a bound, not a speed target: CI is busy
        c = Console(ws)
        try:
            if connected:
                c.hello = await c.frame()
            yield c if connected else None
        finally:
            await ws.disconnect()

    return open_console
