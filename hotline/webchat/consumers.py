"""The anonymous visitor socket ``ws/chat/`` (网上咨询): pre-chat, messages, typing, resume.

A thin edge like the console's: it validates a frame, calls one service of
``hotline.services.conversations`` and answers. The services tell the visitor what happens on
the other side (accepted, messages, typing, queue place, ended) through the channel-layer group
``visitor_group(call)``, which this consumer joins and turns into frames. The frames are
documented in docs/websocket.md.

Nothing a visitor sends is trusted: the origin must be one of ALLOWED_HOSTS (config/routing.py),
every frame takes a token from this socket's bucket and from its address's, a frame is at most
CHAT_FRAME_MAX_BYTES and a message CHAT_MESSAGE_MAX_CHARS, NUL is refused and other control
characters dropped, and the text is stored and shown as text. A refusal is an ``error`` frame;
too many refusals close the socket (4429).
"""

import asyncio
import json
import logging
import re
import time
from collections import deque

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.utils.translation import gettext as _

from core.errors import DomainError
from hotline.webchat import intake, tokens
from hotline.webchat.limits import addresses
from realtime.consumers import TokenBucket

log = logging.getLogger(__name__)

CLOSE_ENDED = 4000  # the conversation has ended; nothing more to say on this socket
CLOSE_BAD_TOKEN = 4403
CLOSE_RATE_LIMITED = 4429
CLOSE_UNAVAILABLE = 4503

# C0/C1 controls except tab and newline, and the invisible direction overrides that can make a
# message read differently on the operator's screen than it was typed.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
TYPING_EVERY = 2.0  # seconds: typing nudges more often than this are dropped quietly


def clean_text(value) -> str | None:
    """The message as plain text, or None when it must be refused (not a string, NUL)."""
    if not isinstance(value, str) or "\x00" in value:
        return None
    return CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n")).strip()


class VisitorConsumer(AsyncWebsocketConsumer):
    """One visitor's browser tab. Anonymous: it knows its conversation only by the token."""

    async def connect(self):
        client = self.scope.get("client") or ("unknown", 0)
        self.address = str(client[0])
        self.call_id: int | None = None
        self.call_sid = ""
        self.group = ""
        self.counted = False
        self.refresh_task = None
        self.last_typing = 0.0
        self.bucket = TokenBucket(settings.CHAT_CLIENT_RATE, settings.CHAT_CLIENT_BURST)
        self.rejections: deque[float] = deque()
        await self.accept()
        if not addresses.open_socket(self.address):
            await self._error("too_many_sockets", _("Too many chats are open from here."))
            await self.close(code=CLOSE_RATE_LIMITED)
            return
        self.counted = True
        await self._send(
            "hello",
            max_chars=settings.CHAT_MESSAGE_MAX_CHARS,
            resume_minutes=settings.CHAT_RESUME_MINUTES,
        )

    async def disconnect(self, code):
        if self.counted:
            addresses.close_socket(self.address)
            self.counted = False
        if self.refresh_task is not None:
            self.refresh_task.cancel()
        if self.group:
            try:
                await self.channel_layer.group_discard(self.group, self.channel_name)
            except Exception:
                log.warning("leaving the visitor group failed", exc_info=True)

    # --- frames to the browser -----------------------------------------------------------------

    async def _send(self, type_: str, **fields) -> None:
        frame = {"type": type_, **fields}
        await self.send(text_data=json.dumps(frame, separators=(",", ":"), ensure_ascii=False))

    async def _error(self, code: str, detail: str, **fields) -> None:
        await self._send("error", code=code, detail=detail, **fields)

    async def _refused(self, code: str, detail: str) -> None:
        """An abusive frame: said once as an error, closed when they keep coming."""
        now = time.monotonic()
        self.rejections.append(now)
        while self.rejections and now - self.rejections[0] > 10:
            self.rejections.popleft()
        if len(self.rejections) > settings.CHAT_CLIENT_ABUSE_LIMIT:
            await self.close(code=CLOSE_RATE_LIMITED)
            return
        await self._error(code, detail)

    # --- frames from the browser ---------------------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None):
        if not self.bucket.take() or not addresses.take_frame(self.address):
            await self._refused("rate_limited", _("Too many messages; please slow down."))
            return
        if text_data is None:
            await self._refused("malformed", _("Send JSON text frames."))
            return
        if len(text_data.encode("utf-8", "surrogatepass")) > settings.CHAT_FRAME_MAX_BYTES:
            await self._refused("too_large", _("That message is too long."))
            return
        try:
            command = json.loads(text_data)
        except (ValueError, RecursionError):
            await self._refused("malformed", _("The frame is not JSON."))
            return
        if not isinstance(command, dict) or not isinstance(command.get("type"), str):
            await self._refused("malformed", _('A frame is a JSON object with a "type".'))
            return
        handler = {
            "start": self._on_start,
            "resume": self._on_resume,
            "message": self._on_message,
            "typing": self._on_typing,
            "end": self._on_end,
            "ping": self._on_ping,
        }.get(command["type"])
        if handler is None:
            await self._refused("unknown_type", _("Unknown frame type."))
            return
        try:
            await handler(command)
        except DomainError as exc:
            await self._error(exc.code, exc.message, fields=exc.fields)
        except Exception:
            log.exception("visitor frame %s failed", command["type"])
            await self._error("failed", _("Something went wrong; please try again."))

    async def _on_ping(self, command):
        await self._send("pong")

    async def _on_start(self, command):
        if self.call_id is not None:
            await self._error("already_started", _("This chat has started already."))
            return
        pre_chat, errors = await database_sync_to_async(intake.clean_pre_chat)(
            command.get("pre_chat")
        )
        if errors:
            await self._error("invalid", _("Please answer the questions."), fields=errors)
            return
        if not addresses.take_start(self.address):
            await self._refused("too_many_chats", _("Too many chats were started from here."))
            return
        call_id, call_sid = await database_sync_to_async(intake.open_chat)(pre_chat)
        await self._join(call_id, call_sid)
        await self._send(
            "started",
            token=tokens.issue(call_sid),
            unsafe=pre_chat["safe"] != "yes",
        )
        await self._send_queue()

    async def _on_resume(self, command):
        if self.call_id is not None:
            await self._error("already_started", _("This chat has started already."))
            return
        call_sid = tokens.call_sid_of(command.get("token"))
        found = await database_sync_to_async(intake.resumable)(call_sid) if call_sid else None
        if found is None:
            # Said once, then closed: a token is not something to guess at.
            await self._error(
                "bad_token", _("That chat cannot be continued; please start a new one.")
            )
            await self.close(code=CLOSE_BAD_TOKEN)
            return
        await self._join(found["id"], call_sid)
        await self._send(
            "resumed",
            token=tokens.issue(call_sid),
            state=found["state"],
            operator=found["operator"],
            messages=found["messages"],
        )
        if found["state"] == "waiting":
            await self._send_queue()

    async def _on_message(self, command):
        if self.call_id is None:
            await self._error("not_started", _("Answer the questions first."))
            return
        body = clean_text(command.get("body"))
        if body is None:
            await self._refused("bad_characters", _("The message holds characters not allowed."))
            return
        if not body:
            await self._error("empty", _("Type a message first."))
            return
        if len(body) > settings.CHAT_MESSAGE_MAX_CHARS:
            await self._refused("too_long", _("That message is too long."))
            return
        message = await database_sync_to_async(intake.visitor_says)(self.call_id, body)
        await self._send("sent", client_id=str(command.get("client_id", ""))[:40], **message)

    async def _on_typing(self, command):
        now = time.monotonic()
        if self.call_id is None or now - self.last_typing < TYPING_EVERY:
            return
        self.last_typing = now
        await database_sync_to_async(intake.visitor_typing)(self.call_id)

    async def _on_end(self, command):
        if self.call_id is None:
            return
        await database_sync_to_async(intake.visitor_left)(self.call_id)

    # --- the conversation's group --------------------------------------------------------------

    async def _join(self, call_id: int, call_sid: str) -> None:
        self.call_id, self.call_sid = call_id, call_sid
        self.group = intake.group_for(call_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        self.refresh_task = asyncio.ensure_future(self._refresh_tokens())

    async def _refresh_tokens(self) -> None:
        """A fresh token every so often: the resume window counts from when the visitor left."""
        while True:
            await asyncio.sleep(settings.CHAT_TOKEN_REFRESH_SECONDS)
            await self._send("token", token=tokens.issue(self.call_sid))

    async def _send_queue(self) -> None:
        place = await database_sync_to_async(intake.queue_place)(self.call_id)
        if place is not None:
            await self._send("queue", **place)

    # Channel-layer messages from the services (hotline.conversations.visitor_group).

    async def chat_message(self, event):
        await self._send(
            "message",
            **{k: event.get(k) for k in ("id", "direction", "body", "at")},
        )

    async def chat_typing(self, event):
        await self._send("typing")

    async def chat_accepted(self, event):
        await self._send("accepted", operator=event.get("operator", ""))

    async def chat_queue(self, event):
        await self._send(
            "queue",
            position=event.get("position"),
            expected_wait_seconds=event.get("expected_wait_seconds"),
        )

    async def chat_ended(self, event):
        await self._send("ended", reason=event.get("reason", ""))
        await self.close(code=CLOSE_ENDED)
