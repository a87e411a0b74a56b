"""The console WebSocket (``/ws/console/?last_event_id=N``): replay, then the live stream.

The event table is the truth and the channel layer only a nudge (DESIGN.md): on connect the
consumer joins the groups of the user's audiences *first* and then replays from the table, so an
event committed in between is either replayed or arrives live, and is sent once either way
(duplicates are dropped by id).

Gap-free while connected: the channel layer can lose a message (Redis down, a process
restarting) and ids can commit out of order (PostgreSQL hands them out at insert, a long
transaction commits later). So the consumer also reads the table itself, above its low-water
mark (every id at or below it that the user may see has been sent): on every heartbeat, a short
settle time after a live event it has not scanned past, and whenever a call to the layer fails.
Ids it found missing are looked at again until they appear or are too old to be a transaction
still open. ``resume_from`` (the mark) is what a client reconnects from.

Stock Channels throughout: ``publish`` sends ``console.event`` to the audiences' groups after the
commit, Channels calls ``console_event``, which sends the frame with ``self.send``. The frames,
commands and close codes are documented with the WebSocket protocol (linked from README.md).
"""

import asyncio
import json
import logging
import time
from collections import deque
from datetime import timedelta
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

from realtime import audiences as aud
from realtime.auth import credential_alive
from realtime.models import ConsoleSession, Event
from realtime.selectors import events_visible_to, missing_ids, scan_events

log = logging.getLogger(__name__)

# Close codes (4000-4999 are the application's own).
CLOSE_UNAUTHENTICATED = 4401
CLOSE_HEARTBEAT_TIMEOUT = 4408
CLOSE_RATE_LIMITED = 4429
CLOSE_UNAVAILABLE = 4503  # the database or channel layer is down: reconnect with backoff

MAX_FRAME_CHARS = 4096
SENT_IDS_KEPT = 4096  # enough to cover the replay window plus what arrives while replaying
SCAN_PAGES = 10  # pages of a catch-up in one go; the rest waits for the next beat
GAPS_KEPT = 1000  # more missing ids than this at once is a jump in the sequence, not commits


def _setting(name: str, default):
    return getattr(settings, name, default)


class TokenBucket:
    """``rate`` tokens a second up to ``burst``; each client frame takes one."""

    def __init__(self, rate: float, burst: int, clock=time.monotonic):
        self.rate, self.burst, self.clock = rate, burst, clock
        self.tokens = float(burst)
        self.stamp = clock()

    def take(self) -> bool:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


@database_sync_to_async
def _current_user(user_id: int):
    return get_user_model().objects.filter(pk=user_id, is_active=True).first()


@database_sync_to_async
def _audiences(user) -> set[str]:
    return aud.audiences_for(user)


@database_sync_to_async
def _replay(user, mine: set[str], after_id: int, window: int) -> list[dict] | None:
    """The events to replay, or None when more than ``window`` are missing (resync instead)."""
    events = list(events_visible_to(user, after_id=after_id, limit=window + 1, audiences=mine))
    if len(events) > window:
        return None
    return [e.as_message() for e in events]


@database_sync_to_async
def _open_session(user_id: int, channel_name: str) -> int:
    """Record the socket (presence follows it). The user's closed sessions and long-dead ones go:
    while this one is open they say nothing, and when it closes it is the newest."""
    now = timezone.now()
    ConsoleSession.objects.filter(user_id=user_id).filter(
        Q(closed_at__isnull=False) | Q(last_seen_at__lt=now - timedelta(days=1))
    ).delete()
    return ConsoleSession.objects.create(
        user_id=user_id, channel_name=channel_name, connected_at=now, last_seen_at=now
    ).pk


@database_sync_to_async
def _touch_session(session_id: int) -> None:
    ConsoleSession.objects.filter(pk=session_id).update(last_seen_at=timezone.now())


@database_sync_to_async
def _close_session(session_id: int) -> None:
    ConsoleSession.objects.filter(pk=session_id, closed_at__isnull=True).update(
        closed_at=timezone.now()
    )


@database_sync_to_async
def _scan(user, mine: set[str], after_id: int, also_ids: list[int], limit: int):
    return scan_events(user, after_id=after_id, also_ids=also_ids, limit=limit, audiences=mine)


@database_sync_to_async
def _missing(lowest: int, highest: int) -> list[int]:
    return missing_ids(lowest, highest)


@database_sync_to_async
def _latest_event_id() -> int:
    latest = Event.objects.order_by("-id").values_list("id", flat=True).first()
    return latest or 0


class ConsoleConsumer(AsyncWebsocketConsumer):
    """One console connection: a signed-in member of staff and the audiences they belong to."""

    async def __call__(self, scope, receive, send):
        try:
            await super().__call__(scope, receive, send)
        except Exception:
            if getattr(self, "channel_name", None) is not None:
                raise
            # Channels makes the consumer's channel before ``connect``: the layer is down. Daphne
            # can only refuse a handshake with 403 (or 500 on an exception), so the socket is
            # accepted and closed at once with a code that says "come back later".
            log.warning("channel layer unavailable; console refused with %s", CLOSE_UNAVAILABLE)
            message = await receive()
            if message["type"] == "websocket.connect":
                await send({"type": "websocket.accept"})
                await send({"type": "websocket.close", "code": CLOSE_UNAVAILABLE})

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user = user
        self.user_group = aud.group_name(aud.user(user.pk))
        self.joined: set[str] = set()
        self.audiences: set[str] = set()
        self.sent_ids: set[int] = set()
        self.sent_order: deque[int] = deque()
        self.last_event_id = 0
        self.acked_id = 0
        # The table scan: every id up to ``scanned`` was looked at, except ``gaps`` (id -> when
        # first found missing), which are looked at again.
        self.scanned = 0
        self.gaps: dict[int, float] = {}
        self.scan_lock = asyncio.Lock()
        self.settle_task = None
        self.heartbeat_seconds = float(_setting("REALTIME_HEARTBEAT_SECONDS", 25))
        self.heartbeat_misses = int(_setting("REALTIME_HEARTBEAT_MISSES", 2))
        self.bucket = TokenBucket(
            float(_setting("REALTIME_CLIENT_RATE", 5)), int(_setting("REALTIME_CLIENT_BURST", 20))
        )
        self.rejections: deque[float] = deque()
        self.last_heard = time.monotonic()
        self.lock = asyncio.Lock()
        self.heartbeat_task = None
        self.session_id = None
        self.accepted = False
        try:
            await self._start(user)
        except Exception:
            # The database or the layer failed mid-handshake: a legal close the client retries.
            log.warning("console connect failed for user %s", user.pk, exc_info=True)
            if not self.accepted:
                await self.accept()
            await self.close(code=CLOSE_UNAVAILABLE)

    async def _start(self, user) -> None:
        # Join first, replay second: whatever commits in between arrives live and is deduplicated.
        await self._join(await _audiences(user))
        await self.accept()
        self.accepted = True
        self.session_id = await _open_session(user.pk, self.channel_name)
        requested = self._requested_id()
        latest = await _latest_event_id()
        window = int(_setting("REALTIME_REPLAY_WINDOW", 1000))
        # A cursor from another database (or garbage) cannot be replayed from: resync.
        bad = requested == "invalid" or (requested is not None and requested > latest)
        self.last_event_id = latest if requested is None or bad else requested
        self.scanned = self.last_event_id
        # Ids below the cursor still missing may belong to a transaction that commits later: the
        # client cannot have seen them (events are never deleted), so they are waited for.
        lookback = int(_setting("REALTIME_GAP_LOOKBACK", 200))
        now = time.monotonic()
        self.gaps = dict.fromkeys(await _missing(self.scanned - lookback, self.scanned), now)
        await self._control(
            "hello",
            user=user.pk,
            audiences=sorted(self.audiences),
            heartbeat=self.heartbeat_seconds,
            replay_window=window,
            resume_from=self.low_water_mark(),
        )
        if bad:
            await self._error("bad_last_event_id", "last_event_id must be a known event id.")
            await self._resync(latest)
        elif requested is not None:
            replay = await _replay(user, self.audiences, requested, window)
            if replay is None:
                await self._resync(latest)
            else:
                for message in replay:
                    await self._deliver(message)
                await self._control(
                    "replayed", count=len(replay), resume_from=self.low_water_mark()
                )
        self.heartbeat_task = asyncio.ensure_future(self._heartbeat_loop())

    def _requested_id(self):
        query = parse_qs(self.scope.get("query_string", b"").decode("latin1"))
        values = query.get("last_event_id")
        if not values or values[0] == "":
            return None
        try:
            value = int(values[0])
        except ValueError:
            return "invalid"
        return value if value >= 0 else "invalid"

    async def disconnect(self, code):
        for task in (getattr(self, "heartbeat_task", None), getattr(self, "settle_task", None)):
            if task is not None:
                task.cancel()
        try:
            for group in getattr(self, "joined", set()):
                await self.channel_layer.group_discard(group, self.channel_name)
        except Exception:
            log.warning("leaving the console's groups failed", exc_info=True)
        if getattr(self, "session_id", None) is not None:
            # The fast path of presence; a process killed outside this leaves the row to age.
            try:
                await _close_session(self.session_id)
            except Exception:
                log.warning("closing console session %s failed", self.session_id, exc_info=True)

    # --- groups ------------------------------------------------------------------------------

    async def _join(self, audiences: set[str]) -> None:
        """Make the joined groups exactly the user's audiences (plus the user's own group)."""
        async with self.lock:
            self.audiences = audiences
            wanted = {aud.group_name(a) for a in audiences} | {self.user_group}
            for group in sorted(self.joined - wanted):
                await self.channel_layer.group_discard(group, self.channel_name)
            for group in sorted(wanted - self.joined):
                await self.channel_layer.group_add(group, self.channel_name)
            self.joined = wanted

    async def _recheck(self) -> bool:
        """Recompute the audiences from the database; close if the user may no longer connect.

        The one place a live socket's credential is re-checked (on every heartbeat and on a
        membership nudge): returns False once the socket is closed. The client is told (an
        ``audiences`` frame) when they changed.
        """
        user = await _current_user(self.user.pk)
        if user is None or not await credential_alive(self.scope):
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return False
        self.user = user
        before = self.audiences
        await self._join(await _audiences(user))
        if self.audiences != before:
            await self._control("audiences", audiences=sorted(self.audiences))
        return True

    # --- frames to the client ------------------------------------------------------------------

    async def _send(self, frame: dict) -> None:
        await self.send(text_data=json.dumps(frame, separators=(",", ":"), ensure_ascii=False))

    async def _control(self, type_: str, **fields) -> None:
        await self._send({"type": type_, "last_event_id": self.last_event_id, **fields})

    async def _error(self, code: str, detail: str) -> None:
        await self._control("error", code=code, detail=detail)

    async def _resync(self, latest: int) -> None:
        self.last_event_id = latest
        self.scanned = max(self.scanned, latest)
        await self._control("resync")

    def low_water_mark(self) -> int:
        """Every id at or below this that the user may see has been sent on this socket."""
        return min(self.gaps) - 1 if self.gaps else self.scanned

    # --- catching up from the table --------------------------------------------------------------

    async def _catch_up(self) -> None:
        """Send what the table holds above the low-water mark and this socket has not sent."""
        page = int(_setting("REALTIME_REPLAY_WINDOW", 1000))
        max_wait = float(_setting("REALTIME_GAP_MAX_WAIT_SECONDS", 300))
        async with self.scan_lock:
            for _ in range(SCAN_PAGES):
                waiting = sorted(self.gaps)
                limit = page + len(waiting)
                present, messages = await _scan(
                    self.user, self.audiences, self.scanned, waiting, limit
                )
                for message in messages:
                    await self._deliver(message)
                now = time.monotonic()
                for event_id in present:
                    self.gaps.pop(event_id, None)
                above = [i for i in present if i > self.scanned]
                if above:
                    missing = above[-1] - self.scanned - len(above)
                    if missing <= GAPS_KEPT:
                        found = set(above)
                        for i in range(self.scanned + 1, above[-1]):
                            if i not in found:
                                self.gaps.setdefault(i, now)
                    self.scanned = above[-1]
                for event_id, since in list(self.gaps.items()):
                    if now - since > max_wait:  # rolled back, not late
                        del self.gaps[event_id]
                if len(present) < limit:
                    return

    async def _settle_then_catch_up(self) -> None:
        await asyncio.sleep(float(_setting("REALTIME_GAP_SETTLE_SECONDS", 2)))
        try:
            await self._catch_up()
        except Exception:
            log.warning("console catch-up failed; the next heartbeat retries", exc_info=True)

    def _catch_up_soon(self) -> None:
        if self.settle_task is None or self.settle_task.done():
            self.settle_task = asyncio.ensure_future(self._settle_then_catch_up())

    def _first_time(self, event_id: int) -> bool:
        """Records the id; False when it was sent already.

        A user in several of the event's audiences receives it once per group; replay and live
        overlap around connect. The id decides.
        """
        if event_id in self.sent_ids:
            return False
        self.sent_ids.add(event_id)
        self.sent_order.append(event_id)
        if len(self.sent_order) > SENT_IDS_KEPT:
            self.sent_ids.discard(self.sent_order.popleft())
        self.last_event_id = max(self.last_event_id, event_id)
        return True

    async def _deliver(self, message: dict) -> None:
        if self._first_time(message["id"]):
            await self._send(message)

    # --- channel-layer messages ----------------------------------------------------------------

    async def console_event(self, message):
        """An event published after its commit (``realtime.publish``).

        An id above the scanned part may have lower ids still uncommitted below it, or ones whose
        nudge was lost: the table is read once they have had time to settle.
        """
        event = message["event"]
        await self._deliver(event)
        if event["id"] > self.scanned:
            self._catch_up_soon()

    async def console_membership(self, message):
        """Sent to ``user:<id>`` when the user's memberships change: follow them at once."""
        try:
            await self._recheck()
        except Exception:
            log.warning("membership re-check failed; the next heartbeat retries", exc_info=True)

    async def console_revoke(self, message):
        """Sent to ``user:<id>`` when a session of the user ended or a token was revoked."""
        await self._recheck()

    # --- heartbeats ------------------------------------------------------------------------------

    async def _heartbeat_loop(self):
        """Beats until the socket closes. A beat whose database or layer call fails is logged and
        the next one tries again: the task never dies of it."""
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            silent = time.monotonic() - self.last_heard
            if silent > self.heartbeat_seconds * (self.heartbeat_misses + 1):
                await self.close(code=CLOSE_HEARTBEAT_TIMEOUT)
                return
            try:
                # One beat's reads share one beat of time: a database that hangs rather than
                # refuses must not stretch the beat (three waits in a row made it four beats).
                if not await asyncio.wait_for(self._beat_reads(), self.heartbeat_seconds):
                    return
            except Exception:
                log.warning("console beat's reads failed for user %s", self.user.pk, exc_info=True)
            await self._control("heartbeat", at=time.time(), resume_from=self.low_water_mark())

    async def _beat_reads(self) -> bool:
        """The membership re-check and session touch, then the table's catch-up; False when the
        socket was closed because the user may no longer see the console."""
        try:
            # The membership nudge can be lost like any broadcast; the heartbeat re-checks.
            if not await self._recheck():
                return False
            await _touch_session(self.session_id)
        except Exception:
            log.warning("console re-check failed for user %s", self.user.pk, exc_info=True)
        await self._catch_up()
        return True

    # --- frames from the client ------------------------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None):
        self.last_heard = time.monotonic()
        if not self.bucket.take():
            await self._rejected()
            return
        if text_data is None or len(text_data) > MAX_FRAME_CHARS:
            await self._error("malformed", "Send JSON text frames of at most 4 KB.")
            return
        try:
            command = json.loads(text_data)
        except (ValueError, RecursionError):
            await self._error("malformed", "The frame is not JSON (or nested too deeply).")
            return
        if not isinstance(command, dict) or not isinstance(command.get("type"), str):
            await self._error("malformed", 'A command is a JSON object with a "type".')
            return
        handler = {"ping": self._on_ping, "pong": self._on_pong, "ack": self._on_ack}.get(
            command["type"]
        )
        if handler is None:
            await self._error("unknown_type", f"Unknown command type: {command['type'][:40]}")
            return
        try:
            await handler(command)
        except Exception:
            log.exception("console command %s failed", command["type"])
            await self._error("failed", "The command failed; try again.")

    async def _rejected(self):
        now = time.monotonic()
        self.rejections.append(now)
        while self.rejections and now - self.rejections[0] > 10:
            self.rejections.popleft()
        if len(self.rejections) > int(_setting("REALTIME_CLIENT_ABUSE_LIMIT", 50)):
            await self.close(code=CLOSE_RATE_LIMITED)
            return
        await self._error("rate_limited", "Too many messages; slow down.")

    async def _on_ping(self, command):
        await self._control("pong")

    async def _on_pong(self, command):
        return None

    async def _on_ack(self, command):
        event_id = command.get("id")
        if isinstance(event_id, bool) or not isinstance(event_id, int) or event_id < 0:
            await self._error("malformed", 'ack needs an integer "id".')
            return
        if event_id > self.last_event_id:
            await self._error("bad_ack", "Cannot acknowledge an event that was not sent.")
            return
        self.acked_id = max(self.acked_id, event_id)
        await self._control("ack", acked=self.acked_id)
