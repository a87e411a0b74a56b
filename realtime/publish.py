"""``publish``: the one function every app uses to record and announce what happened."""

import asyncio
import json
import logging
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer
from django.db import connection, transaction
from django.utils import timezone

from realtime import audiences as aud
from realtime.models import Event, EventAudience

log = logging.getLogger(__name__)


def publish(
    type: str,
    *,
    case=None,
    actor=None,
    data: dict | None = None,
    audiences: Iterable[str] = (),
    include_case_audiences: bool = True,
    broadcast: bool = True,
) -> Event:
    """Append an event inside the caller's transaction and broadcast it after commit.

    The audiences are the ones given plus, for an event about a case, every organisation that may
    see the case. If the broadcast is lost the row is still there and replay delivers it.
    """
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    targets = set(audiences)
    if case is not None and include_case_audiences:
        targets |= {aud.org(org_id) for org_id in case.audience_organisation_ids()}
    event = _append(Event(type=type, case=case, actor=actor, data=data or {}), targets)
    if broadcast:
        _broadcast_on_commit([(event.as_message(), targets)])
    return event


def _append(event: Event, audiences: set[str]) -> Event:
    """One event row and its audience rows, by the ORM."""
    event.save(force_insert=True)
    EventAudience.objects.bulk_create(
        [EventAudience(event=event, audience=a) for a in sorted(audiences)]
    )
    return event


@dataclass(frozen=True)
class Draft:
    """An event to append with ``publish_all``: its audiences are complete as given (the caller
    has already worked out the case's organisations)."""

    type: str
    data: dict
    audiences: Iterable[str]
    case_id: int | None = None
    actor_id: int | None = None


def publish_all(drafts: list[Draft], *, broadcast: bool = True) -> list[dict]:
    """Append several events, in order, inside the caller's transaction; broadcast after commit.

    On PostgreSQL the events and their audience rows go in one statement (a hot path such as
    an incoming call writes two events, which as separate INSERTs cost four round trips).
    Returns the events' wire forms (``Event.as_message``).
    """
    if not drafts:
        return []
    at = timezone.now()
    if connection.vendor == "postgresql":
        ids = _insert_events_postgresql(drafts, at)
    else:
        ids = [
            _append(
                Event(type=d.type, at=at, case_id=d.case_id, actor_id=d.actor_id, data=d.data),
                set(d.audiences),
            ).id
            for d in drafts
        ]
    messages = [
        {"id": i, "type": d.type, "at": at.isoformat(), "case": d.case_id, "data": d.data}
        for i, d in zip(ids, drafts, strict=True)
    ]
    if broadcast:
        _broadcast_on_commit([(m, set(d.audiences)) for m, d in zip(messages, drafts, strict=True)])
    return messages


def _insert_events_postgresql(drafts: list[Draft], at) -> list[int]:
    # One CTE per event, each selecting from the one before: the sequence hands out ids in
    # timeline order (the ids are the replay order).
    ctes, params = [], []
    for n, d in enumerate(drafts):
        source = f"FROM e{n - 1} " if n else ""
        ctes.append(
            f"e{n} AS (INSERT INTO realtime_event (type, at, case_id, actor_id, data) "
            f"SELECT %s, %s, %s, %s, %s::jsonb {source}RETURNING id)"
        )
        # Encoded as the JSONField would (no custom encoder), so both paths store the same.
        params += [d.type, at, d.case_id, d.actor_id, json.dumps(d.data)]
    audience_rows = " UNION ALL ".join(
        f"SELECT e{n}.id, unnest(%s::varchar[]) FROM e{n}"  # noqa: S608 (only numbers)
        for n in range(len(drafts))
    )
    params += [sorted(set(d.audiences)) for d in drafts]
    ids = ", ".join(f"(SELECT id FROM e{n})" for n in range(len(drafts)))  # noqa: S608
    sql = (
        f"WITH {', '.join(ctes)}, audiences AS (INSERT INTO realtime_eventaudience "
        f"(event_id, audience) {audience_rows}) SELECT {ids}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchone())


def _broadcast_on_commit(events: list[tuple[dict, set[str]]]) -> None:
    sends = []
    for message, targets in events:
        live = sorted(set(targets) - {aud.AUDIT})
        if live:
            groups = [aud.group_name(a) for a in live] + [aud.group_name(aud.EVERYONE)]
            sends.append((groups, message, encode_frame(message)))
    if sends:
        transaction.on_commit(lambda: _broadcast(sends))


def encode_frame(message: dict) -> str:
    """The console frame's text: the same for every member of every group, so encoded once."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


def _running(loop):
    return loop if loop is not None and loop.is_running() and not loop.is_closed() else None


def _serving_loop():
    """The loop to broadcast on: the one of the async request this thread works for, else the
    Daphne server's in this process (the in-process worker's thread), else None."""
    if getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None) == os.getpid():
        loop = _running(getattr(SyncToAsync.threadlocal, "main_event_loop", None))
        if loop is not None:
            return loop
    # The consoles' queues (the in-memory layer's, the Redis layer's connection) belong to the
    # server's loop; a loop made for each broadcast would reach them from the wrong thread.
    return _running(getattr(sys.modules.get("daphne.server"), "twisted_loop", None))


def _broadcast(sends: list[tuple[list[str], dict, str]]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    loop = _serving_loop()
    if loop is not None:
        # A worker thread of an async request (a webhook, a console) or of the server: hand the
        # sends to the loop and return, instead of holding the thread until Redis answers.
        future = asyncio.run_coroutine_threadsafe(_send_all(layer, sends), loop)
        future.add_done_callback(_log_if_lost)
        return
    try:
        async_to_sync(_send_all)(layer, sends)
    except Exception:
        _lost()


def _log_if_lost(future) -> None:
    if not future.cancelled() and future.exception() is not None:
        _lost(future.exception())


def _lost(exc: BaseException | None = None) -> None:
    # The channel layer is a nudge, the table is the truth: a console that missed an event
    # gets it on its next replay.
    log.warning("broadcast failed; replay will deliver the events", exc_info=exc or True)


async def _send_all(layer, sends: list[tuple[list[str], dict, str]]) -> None:
    # ``text`` is the frame ready to send: a process with 500 consoles in a group would otherwise
    # encode the same JSON 500 times. ``event`` stays for dedup by id and for other consumers.
    for groups, message, text in sends:
        payload = {"type": "console.event", "event": message, "text": text}
        for group in groups:
            await layer.group_send(group, payload)
