"""The live path: under Daphne with the Redis pub/sub layer, console events are framed once per
process and written to the socket as they arrive, still once per console and after the replay."""

import functools
import json
from collections import deque

import pytest
from autobahn.websocket.protocol import PreparedMessage
from channels.db import database_sync_to_async as db
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from daphne.ws_protocol import WebSocketProtocol

from realtime import audiences as aud
from realtime import consumers
from realtime.auth import SERVER_SEND
from realtime.publish import publish
from tests.realtime.conftest import Console, _token


class Transport:
    """The parts of a Twisted TCP transport the live path uses; ``takes`` bytes per send."""

    TLS = False

    def __init__(self, takes: int | None = None):
        self.takes = takes
        self.connected, self.disconnecting = True, False
        self.dataBuffer, self._tempDataBuffer = b"", []
        self.sent: list[bytes] = []  # straight to the socket
        self.buffered: list[bytes] = []  # through Twisted's buffer

    def writeSomeData(self, data: bytes) -> int:
        taken = data[: self.takes] if self.takes is not None else data
        self.sent.append(bytes(taken))
        return len(taken)

    def write(self, data: bytes) -> None:
        self.buffered.append(bytes(data))


class Factory:
    def prepareMessage(self, payload: bytes) -> PreparedMessage:
        return PreparedMessage(payload, False, False, False)


def daphne_protocol(transport: Transport) -> WebSocketProtocol:
    """An open Daphne WebSocket protocol on a fake transport (its constructor wants a server)."""
    protocol = WebSocketProtocol.__new__(WebSocketProtocol)
    protocol.state = protocol.STATE_OPEN
    protocol.send_queue = deque()
    protocol._perMessageCompress = None
    protocol.factory = Factory()
    protocol.transport = transport
    return protocol


async def _handle_reply(protocol, message):  # Daphne's send is partial(handle_reply, protocol)
    raise AssertionError("the live path never sends through the ASGI send")


def frames(chunks: list[bytes]) -> list[dict]:
    """Server text frames (unmasked, payload < 64 KiB) in the bytes written."""
    data, found = b"".join(chunks), []
    while data:
        assert data[0] == 0x81
        length, start = data[1], 2
        if length == 126:
            length, start = int.from_bytes(data[2:4]), 4
        found.append(json.loads(data[start : start + length]))
        data = data[start + length :]
    return found


@pytest.fixture
def daphne_console():
    """A console whose scope carries a Daphne protocol on a fake transport, as under Daphne."""

    async def open_console(user, transport: Transport, last_event_id=None):
        from config.asgi import application

        protocol = daphne_protocol(transport)
        send = functools.partial(_handle_reply, protocol)

        async def app(scope, receive, asgi_send):
            return await application(dict(scope, **{SERVER_SEND: send}), receive, asgi_send)

        path = "/ws/console/" + (f"?last_event_id={last_event_id}" if last_event_id else "")
        headers = [(b"authorization", f"Token {await _token(user)}".encode())]
        ws = WebsocketCommunicator(app, path, headers=headers)
        connected, _ = await ws.connect()
        assert connected
        console = Console(ws)
        console.hello = await console.frame()
        return console

    return open_console


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
async def test_live_events_are_written_to_the_socket_once_each(daphne_console, network, operator):
    org = aud.org(network["hotline"].pk)
    role = aud.org_role(network["hotline"].pk, "operator")
    transport = Transport()
    c = await daphne_console(operator, transport)
    try:
        # In both audiences: one group message each, one frame.
        event = await db(publish)("test.live", audiences=[org, role])
        await c.ws.receive_nothing(0.5)
        assert frames(transport.sent) == [event.as_message()]
        assert transport.buffered == []
        # The same event again (a second broadcast) is dropped by id.
        layer = get_channel_layer()
        text = json.dumps(event.as_message(), separators=(",", ":"), ensure_ascii=False)
        payload = {"type": "console.event", "event": event.as_message(), "text": text}
        await layer.group_send(aud.group_name(org), payload)
        assert await c.silent(0.5)
        assert len(frames(transport.sent)) == 1
        # Control frames still go through the consumer and Daphne's send.
        await c.send({"type": "ack", "id": event.id})
        assert (await c.frame())["acked"] == event.id
    finally:
        await c.ws.disconnect()


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
async def test_events_replayed_on_connect_are_not_written_again(daphne_console, operator):
    first = await db(publish)("test.before", audiences=[aud.user(operator.pk)])
    missed = await db(publish)("test.missed", audiences=[aud.user(operator.pk)])
    transport = Transport()
    c = await daphne_console(operator, transport, last_event_id=first.id)
    try:
        replay = await c.frames_until("replayed")
        assert [f["id"] for f in replay[:-1]] == [missed.id]
        layer = get_channel_layer()
        payload = {"type": "console.event", "event": missed.as_message(), "text": "{}"}
        await layer.group_send(aud.group_name(aud.user(operator.pk)), payload)
        live = await db(publish)("test.live", audiences=[aud.user(operator.pk)])
        await c.ws.receive_nothing(0.5)
        assert [f["id"] for f in frames(transport.sent)] == [live.id]
    finally:
        await c.ws.disconnect()


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
async def test_with_the_live_path_off_events_go_through_dispatch(
    daphne_console, operator, settings
):
    settings.REALTIME_DIRECT_WRITE = False
    transport = Transport()
    c = await daphne_console(operator, transport)
    try:
        event = await db(publish)("test.queued", audiences=[aud.user(operator.pk)])
        assert (await c.frame())["id"] == event.id
        assert transport.sent == []
    finally:
        await c.ws.disconnect()


def test_a_socket_that_takes_part_of_a_frame_gets_the_rest_through_twisted():
    transport = Transport(takes=3)
    consumers.write_now(transport, b"abcdefgh")
    assert transport.sent == [b"abc"] and transport.buffered == [b"defgh"]


def test_nothing_overtakes_what_twisted_has_buffered():
    transport = Transport()
    transport._tempDataBuffer = [b"older"]
    consumers.write_now(transport, b"newer")
    assert transport.sent == [] and transport.buffered == [b"newer"]


def test_a_closing_or_tls_transport_is_left_to_twisted():
    closing = Transport()
    closing.disconnecting = True
    consumers.write_now(closing, b"x")
    tls = Transport()
    tls.TLS = True
    consumers.write_now(tls, b"y")
    assert closing.sent == tls.sent == []
    assert closing.buffered == [b"x"] and tls.buffered == [b"y"]


def test_only_daphnes_send_leads_to_a_protocol():
    protocol = daphne_protocol(Transport())
    assert consumers.daphne_protocol(functools.partial(_handle_reply, protocol)) is protocol
    assert consumers.daphne_protocol(_handle_reply) is None
    assert consumers.daphne_protocol(functools.partial(_handle_reply, object())) is None
