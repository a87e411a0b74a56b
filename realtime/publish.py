"""``publish``: the one function every app uses to record and announce what happened."""

import json
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

    The audiences are the ones given plus, for an event about a case, every organisation that may
    see the case. If the broadcast is lost the row is still there and replay delivers it.
    """
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    targets = set(audiences)
    if case is not None and include_case_audiences:
        targets |= {aud.org(org_id) for org_id in case.audience_organisation_ids()}
    event = Event.objects.create(type=type, case=case, actor=actor, data=data or {})
    EventAudience.objects.bulk_create(
        [EventAudience(event=event, audience=a) for a in sorted(targets)]
    )
    live = sorted(targets - {aud.AUDIT})
    if broadcast and live:
        message = event.as_message()
        groups = [aud.group_name(a) for a in live] + [aud.group_name(aud.EVERYONE)]
        transaction.on_commit(lambda: _broadcast(groups, message, encode_frame(message)))
    return event


def encode_frame(message: dict) -> str:
    """The console frame's text: the same for every member of every group, so encoded once."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


def _broadcast(groups: list[str], message: dict, text: str) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(_send_all)(layer, groups, message, text)
    except Exception:
        # The channel layer is a nudge, the table is the truth: a console that missed this
        # gets it on its next replay.
        log.warning(
            "broadcast of event %s failed; replay will deliver it", message["id"], exc_info=True
        )


async def _send_all(layer, groups: list[str], message: dict, text: str) -> None:
    # ``text`` is the frame ready to send: a process with 500 consoles in a group would otherwise
    # encode the same JSON 500 times. ``event`` stays for dedup by id and for other consumers.
    payload = {"type": "console.event", "event": message, "text": text}
    for group in groups:
        await layer.group_send(group, payload)
