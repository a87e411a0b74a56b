"""Operators' presence and the offers of calls to them (在线状态、派单).

An available operator at a console is offered the next call in queue order, longest idle first; an
offer not taken in time goes back to the queue, and an operator whose console is gone is set
offline. Calls (``calls``) and triage set an operator on a call, in wrap-up and available again
through ``set_presence_status``.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Conflict, Forbidden, Invalid
from hotline.events import publish_call
from hotline.models import (
    TEXT_CHANNELS,
    Call,
    CallStatus,
    Device,
    OperatorPresence,
    PresenceStatus,
)
from hotline.selectors import at_centres, operator_hotline_ids, waiting_calls
from hotline.services.cases import SYSTEM
from hotline.signals import offers_missed
from realtime import audiences as aud
from realtime.publish import publish
from realtime.selectors import console_absence

USER_PRESENCE = {PresenceStatus.AVAILABLE, PresenceStatus.BREAK, PresenceStatus.OFFLINE}


def _presence_data(p: OperatorPresence) -> dict:
    return {
        "operator": p.user_id,
        "operator_name": str(p.user),
        "status": p.status,
        "device": p.device,
        "since": p.since.isoformat(),
        "last_idle_at": p.last_idle_at.isoformat(),
        "missed_offers": p.missed_offers,
    }


def set_presence_status(p: OperatorPresence, status: str, actor, now=None, reason="") -> None:
    """``reason`` says why the system changed it ("console_gone", "missed_offers")."""
    now = now or timezone.now()
    if p.status == status:
        return
    p.status = status
    p.since = now
    if status == PresenceStatus.AVAILABLE:
        p.last_idle_at = now
    p.save()
    publish(
        "operator.presence_changed",
        actor=actor,
        data={**_presence_data(p), "reason": reason},
        audiences=aud.hotline_staff(p.hotline_id, p.user_id),
    )


def require_operator(actor, hotline_id: int | None = None) -> set[int]:
    hotlines = operator_hotline_ids(actor)
    if not hotlines or (hotline_id is not None and hotline_id not in hotlines):
        raise Forbidden(_("Only operators of this hotline centre may do this."))
    return hotlines


def expire_offers(hotline_id: int, actor=None) -> int:
    """Offers not taken within ``HOTLINE_OFFER_TIMEOUT_SECONDS`` go back to the queue and the
    operator is told (``call.offer_expired`` to them too). They stay available: one missed offer
    is a moment away from the desk. ``HOTLINE_MISSED_OFFERS_BREAK`` in a row puts them on a
    break, so the next offers go to someone who is there, and ``offers_missed`` lets the
    escalation app alert a coordinator."""
    now = timezone.now()
    n = 0
    with transaction.atomic():
        lapsed = Call.objects.select_for_update(skip_locked=True).filter(
            at_centres([hotline_id]), status=CallStatus.OFFERED, offer_expires_at__lte=now
        )
        for call in lapsed:
            missed_by = call.offered_to_id
            call.withdraw_offer()
            call.offered_to = None
            call.offer_expires_at = None
            call.save()
            presence = (
                OperatorPresence.objects.select_for_update().filter(user_id=missed_by).first()
            )
            on_break = False
            if presence is not None:
                # To the back of the idle line: the next offer tries someone else first.
                presence.missed_offers += 1
                presence.last_idle_at = now
                presence.save(update_fields=["missed_offers", "last_idle_at"])
                on_break = (
                    presence.status == PresenceStatus.AVAILABLE
                    and presence.missed_offers >= settings.HOTLINE_MISSED_OFFERS_BREAK
                )
            publish_call(
                "call.offer_expired",
                call,
                actor,
                extra_audiences=[aud.user(missed_by)] if missed_by else (),
                missed_by=missed_by,
                missed_in_a_row=presence.missed_offers if presence else 0,
                put_on_break=on_break,
            )
            if on_break:
                set_presence_status(
                    presence, PresenceStatus.BREAK, actor, now, reason="missed_offers"
                )
                offers_missed.send(
                    sender=OperatorPresence, presence=presence, call=call, actor=actor
                )
            n += 1
        if n:
            offer_waiting(hotline_id, actor)
    return n


def _console_gone(user_ids, now) -> set[int]:
    """Operators whose every console socket has closed (or whose server died): an offer to
    them would ring nowhere, even within the grace before they are set offline."""
    return {uid for uid, gone in console_absence(user_ids, now).items() if gone is not None}


def _free_operators(hotline_id: int, now) -> list[OperatorPresence]:
    """Available operators of the hotline not holding an offer and still at a console, longest
    idle first, locked (skipping rows another transaction holds): who gets the next offer.
    Those at an open console go before those never seen at one (an API or desk-phone client,
    or someone set available who has not come in yet), whose offer may ring nowhere."""
    busy = Call.objects.filter(at_centres([hotline_id]), status=CallStatus.OFFERED).values(
        "offered_to"
    )
    free = list(
        OperatorPresence.objects.filter(hotline_id=hotline_id, status=PresenceStatus.AVAILABLE)
        .exclude(user__in=busy)
        .select_for_update(skip_locked=True)
        .order_by("last_idle_at", "pk")
    )
    absence = console_absence([p.user_id for p in free], now)
    here = [p for p in free if p.user_id in absence and absence[p.user_id] is None]
    unseen = [p for p in free if p.user_id not in absence]
    return here + unseen


def available_operator_ids(hotline_id: int, now=None) -> set[int]:
    """Operators of the hotline who are available and at a console (an offer would reach them)."""
    now = now or timezone.now()
    ids = set(
        OperatorPresence.objects.filter(
            hotline_id=hotline_id, status=PresenceStatus.AVAILABLE
        ).values_list("user_id", flat=True)
    )
    return ids - _console_gone(ids, now)


def offer_waiting_calls(hotline_id: int) -> None:
    """Housekeeping: offer queued calls to whoever is free now (an operator whose console came
    back, one whose offer was withdrawn); offers are otherwise made when something changes."""
    with transaction.atomic():
        offer_waiting(hotline_id, SYSTEM)


def sign_off_absent_operators(now=None) -> int:
    """Presence follows the person: an operator available or on a break whose every console has
    been gone longer than ``HOTLINE_PRESENCE_GRACE_SECONDS`` is set offline, and an offer held
    for them goes back to the queue. The grace also runs from their last status change, so
    setting oneself available from an API client is not undone at once. A reload closes one
    socket and opens another well within the grace, so it does not flap. On a call or in
    wrap-up nothing changes: the call goes on (perhaps on the operator's phone)."""
    now = now or timezone.now()
    grace = timedelta(seconds=settings.HOTLINE_PRESENCE_GRACE_SECONDS)
    candidates = OperatorPresence.objects.filter(
        status__in=[PresenceStatus.AVAILABLE, PresenceStatus.BREAK], since__lte=now - grace
    ).values_list("user_id", flat=True)
    absent = [
        uid
        for uid, gone in console_absence(list(candidates), now).items()
        if gone is not None and gone <= now - grace
    ]
    n = 0
    for user_id in absent:
        with transaction.atomic():
            presence = OperatorPresence.objects.select_for_update().get(user_id=user_id)
            if presence.status not in (PresenceStatus.AVAILABLE, PresenceStatus.BREAK):
                continue
            # Read again under the lock: a console may have connected since the first look.
            gone = console_absence([user_id], timezone.now()).get(user_id)
            if gone is None or gone > now - grace:
                continue
            set_presence_status(
                presence, PresenceStatus.OFFLINE, SYSTEM, now, reason="console_gone"
            )
            _withdraw_offers_to(presence, SYSTEM)
            n += 1
    return n


def _withdraw_offers_to(presence: OperatorPresence, actor) -> None:
    """Back to the queue (not a missed offer: the operator is gone, not slow), then on offer."""
    calls = Call.objects.select_for_update().filter(
        status=CallStatus.OFFERED, offered_to_id=presence.user_id
    )
    withdrawn = False
    for call in calls:
        call.withdraw_offer()
        call.offered_to = None
        call.offer_expires_at = None
        call.save()
        publish_call(
            "call.offer_withdrawn",
            call,
            actor,
            extra_audiences=[aud.user(presence.user_id)],
            withdrawn_from=presence.user_id,
        )
        withdrawn = True
    if withdrawn:
        offer_waiting(presence.hotline_id, actor)


HELD_STATUSES = [CallStatus.IN_PROGRESS.value, CallStatus.WRAP_UP.value]


def held_contacts(user_id: int) -> tuple[int, int]:
    """(text conversations, voice calls) the operator holds now (in progress or wrap-up)."""
    channels = list(
        Call.objects.filter(operator_id=user_id, status__in=HELD_STATUSES).values_list(
            "channel", flat=True
        )
    )
    texts = sum(1 for c in channels if c in TEXT_CHANNELS)
    return texts, len(channels) - texts


def settle_presence(presence: OperatorPresence, actor, now=None) -> None:
    """The operator's status from what they hold (the presence row locked): on a call while any
    contact is in progress, else in wrap-up while one is, else available. With two chats, one
    triaged leaves them on a call for the other."""
    statuses = set(
        Call.objects.filter(operator_id=presence.user_id, status__in=HELD_STATUSES).values_list(
            "status", flat=True
        )
    )
    if CallStatus.IN_PROGRESS in statuses:
        status = PresenceStatus.ON_CALL
    elif CallStatus.WRAP_UP in statuses:
        status = PresenceStatus.WRAP_UP
    else:
        status = PresenceStatus.AVAILABLE
    set_presence_status(presence, status, actor, now)


def _chat_takers(hotline_id: int, now) -> list[OperatorPresence]:
    """Operators who hold only text conversations, fewer than ``HOTLINE_MAX_CHATS``, hold no
    offer and are at a console, fewest conversations first: who may be offered one more chat
    (never a voice call). Locked, skipping rows another transaction holds."""
    busy = Call.objects.filter(at_centres([hotline_id]), status=CallStatus.OFFERED).values(
        "offered_to"
    )
    holding = list(
        OperatorPresence.objects.filter(
            hotline_id=hotline_id, status__in=[PresenceStatus.ON_CALL, PresenceStatus.WRAP_UP]
        )
        .exclude(user__in=busy)
        .select_for_update(skip_locked=True)
        .order_by("last_idle_at", "pk")
    )
    if not holding:
        return []
    absence = console_absence([p.user_id for p in holding], now)
    takers = []
    for p in holding:
        if absence.get(p.user_id, "never") is not None:
            continue  # console gone, or never opened one: a chat needs a screen
        texts, voices = held_contacts(p.user_id)
        if not voices and texts < settings.HOTLINE_MAX_CHATS:
            takers.append((texts, p))
    return [p for _texts, p in sorted(takers, key=lambda t: t[0])]


def offer_waiting(hotline_id: int, actor) -> None:
    """Offer queued contacts in queue order, one offer per operator at a time: a voice call to an
    available operator (holding nothing), longest idle first; a text conversation to an
    available operator first, else to one already holding fewer than ``HOTLINE_MAX_CHATS``
    conversations and no call. A voice call nobody may take does not hold up the chats behind
    it."""
    now = timezone.now()
    free = _free_operators(hotline_id, now)
    takers = None  # looked up only when a chat is waiting and nobody is free
    queued = (
        waiting_calls(hotline_id)
        .filter(status=CallStatus.QUEUED)
        .select_for_update(skip_locked=True)
    )
    if not free:
        queued = queued.filter(channel__in=TEXT_CHANNELS)  # only a chat may still be taken
    for call in queued:
        if call.channel in TEXT_CHANNELS:
            if not free and takers is None:
                takers = _chat_takers(hotline_id, now)
            pool = free or takers
        else:
            pool = free
        if not pool:
            if not free and takers == []:
                return
            continue
        presence = pool.pop(0)
        call.offer()
        call.offered_to_id = presence.user_id
        call.offered_at = now
        call.offer_expires_at = now + timedelta(seconds=settings.HOTLINE_OFFER_TIMEOUT_SECONDS)
        call.save()
        publish_call(
            "call.offered", call, actor, offer_expires_at=call.offer_expires_at.isoformat()
        )


def presence_for(actor, hotline_id: int) -> OperatorPresence:
    OperatorPresence.objects.get_or_create(user=actor, defaults={"hotline_id": hotline_id})
    return OperatorPresence.objects.select_for_update().get(user=actor)


def set_presence(
    actor, *, status: str | None = None, device: str | None = None
) -> OperatorPresence:
    """An operator signs in, takes a break or signs off (on a call / wrap-up are set by calls)."""
    hotlines = require_operator(actor)
    if status is not None and status not in USER_PRESENCE:
        raise Invalid(
            _("You can set yourself available, on a break or offline."),
            fields={"status": [_("Not a status you can set.")]},
        )
    if device is not None and device not in Device.values:
        raise Invalid(_("Unknown device."), fields={"device": [_("Unknown value.")]})
    with transaction.atomic():
        presence = presence_for(actor, min(hotlines))
        if device is not None and device != presence.device:
            presence.device = device
            presence.save(update_fields=["device"])
        if status is not None and status != presence.status:
            if presence.status in (PresenceStatus.ON_CALL, PresenceStatus.WRAP_UP):
                raise Conflict(
                    _("Finish your current call (and its wrap-up) first."), code="operator_busy"
                )
            # The operator has said where they are: the missed offers are behind them.
            presence.missed_offers = 0
            set_presence_status(presence, status, actor)
            if status == PresenceStatus.AVAILABLE:
                offer_waiting(presence.hotline_id, actor)
            else:
                _withdraw_offers_to(presence, actor)
    return presence
