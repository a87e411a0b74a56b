"""``publish``: the one function every app uses to record and announce what happened."""

import logging
from collections.abc import Iterable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

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

    The audiences are the ones given (built with ``realtime.audiences``' rules by the caller) plus,
    for a case-file event (need ``case``), the case roles of every organisation holding the case.
    An event about a case must have a registered type: its need says who may receive it. If the
    broadcast is lost the row is still there and replay delivers it.
    """
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    need = aud.need_of(type)
    if case is not None and need is None:
        raise aud.UnregisteredEventType(
            f"Event type {type!r} is about a case but has no need in realtime.audiences."
        )
    targets = set(audiences)
    if case is not None and include_case_audiences and need == aud.CASE:
        targets |= aud.case_file(case.audience_organisation_ids())
    event = _append(Event(type=type, case=case, actor=actor, data=data or {}), targets)
    if broadcast:
        _broadcast_on_commit(event.as_message(), targets)
    return event


def _append(event: Event, audiences: set[str]) -> Event:
    """One event row and its audience rows, by the ORM."""
    event.save(force_insert=True)
    EventAudience.objects.bulk_create(
        [EventAudience(event=event, audience=a) for a in sorted(audiences)]
    )
    return event


def _broadcast_on_commit(message: dict, targets: set[str]) -> None:
    live = sorted(set(targets) - {aud.AUDIT})
    if live:
        groups = [aud.group_name(a) for a in live] + [aud.group_name(aud.EVERYONE)]
        transaction.on_commit(lambda: _broadcast(groups, message))


def _broadcast(groups: list[str], message: dict) -> None:
    """Send the event to its groups; the caller waits until the channel layer has them.

    ``async_to_sync`` runs the sends on the event loop of the async code this thread works for
    (a request or a consumer under Daphne, the in-process worker of ``manage.py serve``), where
    the channel layer's connections and the in-memory layer's queues live; in a plain thread (the
    standalone worker, a management command) on a loop of its own.
    """
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(_send_all)(layer, groups, message)
    except Exception:
        # The channel layer is a nudge, the table is the truth: a console that missed an event
        # gets it on its next replay.
        log.warning("broadcast failed; replay will deliver the events", exc_info=True)


async def _send_all(layer, groups: list[str], message: dict) -> None:
    for group in groups:
        await layer.group_send(group, {"type": "console.event", "event": message})
