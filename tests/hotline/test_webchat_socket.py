"""The anonymous visitor socket ws/chat/: a chat from pre-chat to reply, resume, and abuse
refused without harm (WebsocketCommunicator through the real ASGI stack)."""

import contextlib
import json
import time

import pytest
from channels.db import database_sync_to_async as db
from channels.testing import WebsocketCommunicator
from django.core import signing

from hotline.models import Call, CallChannel, ContactMessage
from hotline.webchat import tokens
from hotline.webchat.limits import addresses

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://testserver")
SAFE = {"age_group": "14_17", "district": "330502", "safe": "yes"}
UNSAFE = {"age_group": "14_17", "district": "", "safe": "no"}


@pytest.fixture(autouse=True)
def fresh_limits():
    addresses.reset()
    yield
    addresses.reset()


class Visitor:
    def __init__(self, ws: WebsocketCommunicator):
        self.ws = ws

    async def send(self, data) -> None:
        if isinstance(data, str):
            await self.ws.send_to(text_data=data)
        elif isinstance(data, bytes):
            await self.ws.send_to(bytes_data=data)
        else:
            await self.ws.send_json_to(data)

    async def frame(self, timeout: float = 3) -> dict:
        return json.loads(await self.ws.receive_from(timeout))

    async def until(self, type_: str, timeout: float = 3) -> dict:
        while True:
            frame = await self.frame(timeout)
            if frame["type"] == type_:
                return frame

    async def closed_with(self, timeout: float = 3) -> int | None:
        while True:
            message = await self.ws.receive_output(timeout)
            if message["type"] == "websocket.close":
                return message.get("code")

    async def start(self, pre_chat=None) -> dict:
        await self.send({"type": "start", "pre_chat": pre_chat or SAFE})
        return await self.until("started")


@contextlib.asynccontextmanager
async def visitor(origin=ORIGIN):
    from config.asgi import application

    ws = WebsocketCommunicator(application, "/ws/chat/", headers=[origin] if origin else [])
    connected, _ = await ws.connect(timeout=10)
    if not connected:
        yield None
        return
    v = Visitor(ws)
    hello = await v.frame()
    assert hello["type"] == "hello"
    try:
        yield v
    finally:
        await ws.disconnect()


def chats():
    return list(Call.objects.filter(channel=CallChannel.WEBCHAT))


def visitor_messages():
    return list(ContactMessage.objects.filter(direction="in").order_by("pk"))


async def test_a_visitor_opens_a_chat_and_waits_in_the_queue(network):
    async with visitor() as v:
        started = await v.start()
        assert started["token"] and started["unsafe"] is False
        queue = await v.until("queue")
        assert queue["position"] == 1 and queue["expected_wait_seconds"] > 0
    [call] = await db(chats)()
    assert call.status == "queued" and call.call_sid.startswith("CHAT-")
    assert started["token"].split(":")[0] == call.call_sid  # signed; a random sid, not the row id


async def test_a_visitor_who_is_not_safe_is_told_so_and_ranked_first(network):
    async with visitor() as a, visitor() as b:
        await a.start(SAFE)
        started = await b.start(UNSAFE)
        assert started["unsafe"] is True
        queue = await b.until("queue")
        assert queue["position"] == 1  # ahead of the one who came first and is safe
    unsafe = await db(lambda: Call.objects.get(call_sid=tokens.call_sid_of(started["token"])))()
    assert unsafe.priority > 0


async def test_the_visitors_message_reaches_the_conversation_and_the_reply_reaches_them(
    network, operator
):
    from hotline import services
    from hotline.services import conversations

    async with visitor() as v:
        started = await v.start()
        await v.send({"type": "message", "body": "我睡不着，很难受", "client_id": "c1"})
        sent = await v.until("sent")
        assert sent["body"] == "我睡不着，很难受" and sent["client_id"] == "c1"
        [message] = await db(visitor_messages)()
        assert message.body == "我睡不着，很难受" and message.pk == sent["id"]

        call = await db(Call.objects.get)(call_sid=tokens.call_sid_of(started["token"]))
        await db(services.set_presence)(operator, status="available")
        await db(services.accept_call)(operator, call)
        accepted = await v.until("accepted")
        assert accepted["operator"] and str(operator.pk) != accepted["operator"]
        await db(conversations.send_reply)(call, operator, "你好，我在这里听你说。")
        reply = await v.until("message")
        while reply["direction"] != "out":
            reply = await v.until("message")
        assert reply["body"] == "你好，我在这里听你说。"


async def test_a_visitor_comes_back_with_the_token_to_the_same_conversation(network):
    async with visitor() as v:
        started = await v.start()
        await v.send({"type": "message", "body": "第一句"})
        await v.until("sent")
    async with visitor() as again:
        await again.send({"type": "resume", "token": started["token"]})
        resumed = await again.until("resumed")
        assert resumed["state"] == "waiting"
        assert "第一句" in [m["body"] for m in resumed["messages"]]
        await again.send({"type": "message", "body": "第二句"})
        await again.until("sent")
    assert len(await db(chats)()) == 1
    assert [m.body for m in await db(visitor_messages)()] == ["第一句", "第二句"]


class _IssuedAnHourAgo(signing.TimestampSigner):
    def timestamp(self):
        return signing.b62_encode(int(time.time()) - 3600)


@pytest.mark.parametrize("kind", ["forged", "expired", "call_sid_alone", "not_a_string"])
async def test_a_wrong_or_expired_token_is_refused_and_the_socket_closed(network, kind):
    async with visitor() as v:
        started = await v.start()
    sid = tokens.call_sid_of(started["token"])
    token = {
        "forged": started["token"][:-2] + "xx",
        "expired": _IssuedAnHourAgo(salt=tokens.SALT).sign(sid),
        "call_sid_alone": sid,
        "not_a_string": {"token": sid},
    }[kind]
    async with visitor() as v:
        await v.send({"type": "resume", "token": token})
        error = await v.until("error")
        assert error["code"] == "bad_token"
        assert await v.closed_with() == 4403


async def test_an_ended_conversation_cannot_be_resumed(network):
    async with visitor() as v:
        started = await v.start()
        await v.send({"type": "end"})
        ended = await v.until("ended")
        assert ended["reason"] == "visitor_left"
    async with visitor() as v:
        await v.send({"type": "resume", "token": started["token"]})
        assert (await v.until("error"))["code"] == "bad_token"


@pytest.mark.parametrize("origin", [(b"origin", b"http://evil.example"), None])
async def test_a_foreign_or_missing_origin_is_refused(network, origin):
    async with visitor(origin=origin) as v:
        assert v is None


async def test_a_flood_is_refused_without_harm_and_the_socket_closed(network, settings):
    settings.CHAT_CLIENT_BURST = 5
    settings.CHAT_CLIENT_RATE = 0.001
    settings.CHAT_CLIENT_ABUSE_LIMIT = 10
    async with visitor() as v:
        await v.start()  # one token
        for i in range(40):
            await v.send({"type": "message", "body": f"刷屏 {i}"})
        codes = []
        while True:
            message = await v.ws.receive_output(3)
            if message["type"] == "websocket.close":
                assert message["code"] == 4429
                break
            frame = json.loads(message["text"])
            if frame["type"] == "error":
                codes.append(frame["code"])
        assert codes and set(codes) == {"rate_limited"}
    assert len(await db(visitor_messages)()) == 4  # the bucket's five, less the start
    assert len(await db(chats)()) == 1


async def test_one_address_cannot_start_chats_beyond_its_limit(network, settings):
    settings.CHAT_IP_STARTS_PER_HOUR = 2
    for _ in range(2):
        async with visitor() as v:
            await v.start()
    async with visitor() as v:
        await v.send({"type": "start", "pre_chat": SAFE})
        assert (await v.until("error"))["code"] == "too_many_chats"
    assert len(await db(chats)()) == 2


async def test_a_huge_message_or_frame_is_refused_and_nothing_stored(network, settings):
    async with visitor() as v:
        await v.start()
        too_long = "长" * (settings.CHAT_MESSAGE_MAX_CHARS + 1)
        await v.send(json.dumps({"type": "message", "body": too_long}, ensure_ascii=False))
        assert (await v.until("error"))["code"] == "too_long"
        await v.send(json.dumps({"type": "message", "body": "x" * 100_000}))
        assert (await v.until("error"))["code"] == "too_large"
        await v.send({"type": "ping"})
        assert (await v.until("pong"))["type"] == "pong"  # still open
    assert await db(visitor_messages)() == []


async def test_html_is_stored_and_sent_back_as_plain_text(network):
    html = '<script>alert(1)</script><img src=x onerror="alert(2)"> & <b>hi</b>'
    async with visitor() as v:
        await v.start()
        await v.send({"type": "message", "body": html})
        assert (await v.until("sent"))["body"] == html
    [message] = await db(visitor_messages)()
    assert message.body == html


async def test_nul_is_refused_and_other_control_characters_dropped(network):
    async with visitor() as v:
        await v.start()
        await v.send({"type": "message", "body": "a\x00b"})
        assert (await v.until("error"))["code"] == "bad_characters"
        await v.send({"type": "message", "body": "第一行\r\n第二\x07行\u202e"})
        assert (await v.until("sent"))["body"] == "第一行\n第二行"
    assert [m.body for m in await db(visitor_messages)()] == ["第一行\n第二行"]


@pytest.mark.parametrize(
    "frame, code",
    [
        ("{not json", "malformed"),
        ("[1, 2]", "malformed"),
        (b"\x00\x01", "malformed"),
        ('{"type": "launch"}', "unknown_type"),
        ('{"type": "message", "body": "too early"}', "not_started"),
    ],
)
async def test_a_bad_frame_is_an_error_frame_and_the_socket_stays_open(network, frame, code):
    async with visitor() as v:
        await v.send(frame)
        assert (await v.until("error"))["code"] == code
        await v.send({"type": "ping"})
        assert (await v.until("pong"))["type"] == "pong"
    assert await db(chats)() == []


async def test_wrong_pre_chat_answers_are_named_and_open_nothing(network):
    async with visitor() as v:
        await v.send({"type": "start", "pre_chat": {"age_group": "99", "district": "nowhere"}})
        error = await v.until("error")
        assert error["code"] == "invalid"
        assert set(error["fields"]) == {"age_group", "district", "safe"}
    assert await db(chats)() == []


async def test_the_visitor_hears_when_the_conversation_ends(network, operator):
    from hotline.services import conversations

    async with visitor() as v:
        started = await v.start()
        call = await db(Call.objects.get)(call_sid=tokens.call_sid_of(started["token"]))
        await db(conversations.end_conversation)(call, reason="inactivity")
        assert (await v.until("ended"))["reason"] == "inactivity"
        assert await v.closed_with() == 4000
