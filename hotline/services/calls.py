"""Calls, the queue, operators' presence and offers (热线来电、排队、接线).

An incoming call (the Twilio webhook, a manual entry, a call-back) is queued by ordinary ORM
code: the person by number, their open case (or one opened through ``_insert_case``, the one
writer of a new case), the call, its events; then it is offered to a free operator and the
queue is counted for a surge.
"""

import functools
import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from phonenumber_field.phonenumber import to_python
from twilio.base.exceptions import TwilioException

from core.errors import Conflict, Forbidden, Invalid, NotFound
from core.telephony import twilio_client, twilio_configured
from directory.models import Organisation, OrganisationKind
from hotline import queue, voice
from hotline.events import call_audiences, call_data
from hotline.models import (
    MANUAL_CHANNELS,
    WAITING_STATUSES,
    Call,
    CallbackTask,
    CallChannel,
    CallerRelation,
    CallStatus,
    Case,
    Device,
    OperatorPresence,
    Person,
    PresenceStatus,
    Risk,
    risk_at_least,
)
from hotline.selectors import operator_hotline_ids, visible_people, waiting_calls
from hotline.services.cases import SYSTEM, _insert_case, open_case
from hotline.services.surge import _check_surge, _end_surge_if_over
from hotline.signals import offers_missed
from realtime import audiences as aud
from realtime.publish import publish
from realtime.selectors import console_absence

log = logging.getLogger(__name__)

TERMINAL_TWILIO_STATUSES = {"completed", "busy", "failed", "no-answer", "canceled"}
USER_PRESENCE = {PresenceStatus.AVAILABLE, PresenceStatus.BREAK, PresenceStatus.OFFLINE}


def hotline_for_webhook() -> Organisation:
    """The hotline centre that answers 2251885 (``HOTLINE_ORGANISATION_CODE``, else the first)."""
    code = settings.HOTLINE_ORGANISATION_CODE
    qs = Organisation.objects.filter(kind=OrganisationKind.HOTLINE_CENTRE, is_active=True)
    org = (qs.filter(code=code) if code else qs.order_by("pk")).first()
    if org is None:
        raise NotFound(_("No hotline centre is configured."), code="no_hotline")
    return org


@functools.lru_cache(maxsize=4096)
def normalise_number(raw: str):
    """E.164 for a real number (China by default); None for withheld/"anonymous"/client ids.

    Cached (the same numbers come back); the result is shared, so it must not be mutated.
    """
    raw = (raw or "").strip()
    if not raw or raw.startswith("client:"):
        return None
    number = to_python(raw, region="CN")
    if number is None or not getattr(number, "is_valid", lambda: False)():
        return None
    return number


def _publish_call(type_: str, call: Call, actor, extra_audiences=(), **extra) -> None:
    publish(
        type_,
        case=call.case,
        actor=actor,
        data={**call_data(call), **extra},
        audiences=[*call_audiences(call), *extra_audiences],
    )


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


def _set_presence_status(p: OperatorPresence, status: str, actor, now=None, reason="") -> None:
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
        audiences=[aud.org(p.hotline_id), aud.user(p.user_id)],
    )


def _priority(channel: str, case: Case | None) -> tuple[int, list[str]]:
    priority, reasons = 0, []
    if channel == CallChannel.CALLBACK:
        priority += queue.PRIORITY_CALLBACK
        reasons.append("callback")
    if case is not None and risk_at_least(case.risk, Risk.HIGH):
        priority += queue.PRIORITY_KNOWN_HIGH_RISK
        reasons.append("known_high_risk")
    if channel == CallChannel.TRANSFER_110:
        priority += queue.PRIORITY_TRANSFER_110
        reasons.append("transfer_110")
    return priority, reasons


def _enqueue(
    actor,
    *,
    hotline: Organisation,
    call_sid: str,
    channel: str,
    from_raw: str,
    to_raw: str = "",
    caller_name: str = "",
    caller_relation: str = CallerRelation.UNKNOWN,
    person: Person | None = None,
    notes: str = "",
    callback_of: Call | None = None,
) -> Call:
    """来电识别 and 入队, in the caller's transaction: the person (given, or the newest with the
    number, or a new one), their open case (or a new one), the call and ``call.queued``."""
    number = normalise_number(from_raw)
    if person is None and number is not None:
        person = Person.objects.filter(phone=number).order_by("-pk").first()
    case = person.cases.open().first() if person is not None else None
    if person is None:
        person = Person.objects.create(phone=number or "", is_anonymous=number is None)
    if case is None:
        case = _insert_case(actor, person=person, owning_organisation=hotline)
    now = timezone.now()
    priority, reasons = _priority(channel, case)
    call = Call.objects.create(
        call_sid=call_sid,
        hotline=hotline,
        channel=channel,
        from_number=number or "",
        from_raw=(from_raw or "")[:64],
        to_number=normalise_number(to_raw) or "",
        caller_name=caller_name,
        caller_relation=caller_relation,
        person=person,
        case=case,
        priority=priority,
        priority_reasons=reasons,
        rank_at=queue.rank_at(now, priority),
        queued_at=now,
        notes=notes,
        callback_of=callback_of,
    )
    _publish_call("call.queued", call, actor)
    _offer_waiting(hotline.pk, actor)
    _check_surge(hotline, actor)
    return call


def receive_call(actor, *, hotline: Organisation, call_sid: str, **fields) -> tuple[Call, bool]:
    """Put a call in the queue, once per ``call_sid``: (call, created).

    A repeated Twilio delivery, or two deliveries racing, both try the insert: the unique
    ``call_sid`` makes the second fail, and its whole transaction (person, case, events) rolls
    back, so nothing is written twice and the existing call is returned. (No look-up first: a
    repeat is rare, and the index has to be asked anyway.) The same person calling on two lines
    at once can race to open their case: the loser's insert meets the one-open-case index, rolls
    back, and is taken again, now finding the case.
    """
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                return _enqueue(actor, hotline=hotline, call_sid=call_sid, **fields), True
        except IntegrityError:
            existing = Call.objects.filter(call_sid=call_sid).first()
            if existing is not None:
                return existing, False
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _require_operator(actor, hotline_id: int | None = None) -> set[int]:
    hotlines = operator_hotline_ids(actor)
    if not hotlines or (hotline_id is not None and hotline_id not in hotlines):
        raise Forbidden(_("Only operators of this hotline centre may do this."))
    return hotlines


def enter_manual_call(
    actor,
    *,
    channel: str,
    from_number: str = "",
    caller_name: str = "",
    caller_relation: str = CallerRelation.UNKNOWN,
    person: Person | None = None,
    notes: str = "",
    hotline: Organisation | None = None,
) -> Call:
    """登记来访/转接: a walk-in, a transfer from 110 or an appointment-line call, entered by an
    operator; it then follows the same queue, accept, triage and wrap-up as a Twilio call."""
    hotlines = _require_operator(actor, hotline.pk if hotline else None)
    if channel not in MANUAL_CHANNELS:
        raise Invalid(
            _("A manual call is a walk-in, a transfer from 110 or the appointment line."),
            fields={"channel": [_("Not a manual channel.")]},
        )
    if from_number and normalise_number(from_number) is None:
        raise Invalid(
            _("The caller's number is not a valid phone number."),
            fields={"from_number": [_("Not a valid phone number.")]},
        )
    if person is not None and not visible_people(actor).filter(pk=person.pk).exists():
        raise Forbidden(_("You may not see this person's record."))
    hotline = hotline or Organisation.objects.get(pk=min(hotlines))
    call, _created = receive_call(
        actor,
        hotline=hotline,
        call_sid=f"MANUAL-{uuid.uuid4().hex}",
        channel=channel,
        from_raw=from_number,
        caller_name=caller_name,
        caller_relation=caller_relation,
        person=person,
        notes=notes,
    )
    return call


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
            hotline_id=hotline_id, status=CallStatus.OFFERED, offer_expires_at__lte=now
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
            _publish_call(
                "call.offer_expired",
                call,
                actor,
                extra_audiences=[aud.user(missed_by)] if missed_by else (),
                missed_by=missed_by,
                missed_in_a_row=presence.missed_offers if presence else 0,
                put_on_break=on_break,
            )
            if on_break:
                _set_presence_status(
                    presence, PresenceStatus.BREAK, actor, now, reason="missed_offers"
                )
                offers_missed.send(
                    sender=OperatorPresence, presence=presence, call=call, actor=actor
                )
            n += 1
        if n:
            _offer_waiting(hotline_id, actor)
    return n


def _console_gone(user_ids, now) -> set[int]:
    """Operators whose every console socket has closed (or whose server died): an offer to
    them would ring nowhere, even within the grace before they are set offline."""
    return {uid for uid, gone in console_absence(user_ids, now).items() if gone is not None}


def _free_operators(hotline_id: int, now) -> list[OperatorPresence]:
    """Available operators of the hotline not holding an offer and still at a console, longest
    idle first, locked (skipping rows another transaction holds): who gets the next offer."""
    busy = Call.objects.filter(hotline_id=hotline_id, status=CallStatus.OFFERED).values(
        "offered_to"
    )
    free = list(
        OperatorPresence.objects.filter(hotline_id=hotline_id, status=PresenceStatus.AVAILABLE)
        .exclude(user__in=busy)
        .select_for_update(skip_locked=True)
        .order_by("last_idle_at", "pk")
    )
    gone = _console_gone([p.user_id for p in free], now)
    return [p for p in free if p.user_id not in gone]


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
        _offer_waiting(hotline_id, SYSTEM)


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
            _set_presence_status(
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
        _publish_call(
            "call.offer_withdrawn",
            call,
            actor,
            extra_audiences=[aud.user(presence.user_id)],
            withdrawn_from=presence.user_id,
        )
        withdrawn = True
    if withdrawn:
        _offer_waiting(presence.hotline_id, actor)


def _offer_waiting(hotline_id: int, actor) -> None:
    """Offer queued calls to available operators, longest idle first (one offer each)."""
    now = timezone.now()
    for presence in _free_operators(hotline_id, now):
        call = (
            waiting_calls(hotline_id)
            .filter(status=CallStatus.QUEUED)
            .select_for_update(skip_locked=True)
            .first()
        )
        if call is None:
            return
        call.offer()
        call.offered_to_id = presence.user_id
        call.offered_at = now
        call.offer_expires_at = now + timedelta(seconds=settings.HOTLINE_OFFER_TIMEOUT_SECONDS)
        call.save()
        _publish_call(
            "call.offered", call, actor, offer_expires_at=call.offer_expires_at.isoformat()
        )


def _presence_for(actor, hotline_id: int) -> OperatorPresence:
    OperatorPresence.objects.get_or_create(user=actor, defaults={"hotline_id": hotline_id})
    return OperatorPresence.objects.select_for_update().get(user=actor)


def accept_call(actor, call: Call | None = None) -> Call:
    """接听: take a waiting call (or, with ``call=None``, the first one in queue order).

    Race-safe: the call row is locked and its status re-read, so of two operators accepting the
    same call one wins and the other gets 409. "Accept the next" skips rows another operator
    holds locked at this moment, so two such operators get two different calls.
    """
    hotlines = _require_operator(actor, call.hotline_id if call else None)
    now = timezone.now()
    with transaction.atomic():
        # Lock order: the operator's presence, then the call.
        presence = _presence_for(actor, call.hotline_id if call else min(hotlines))
        if presence.status in (PresenceStatus.ON_CALL, PresenceStatus.WRAP_UP):
            raise Conflict(
                _("Finish your current call (and its wrap-up) before taking another."),
                code="operator_busy",
            )
        if call is None:
            call = (
                Call.objects.select_for_update(skip_locked=True)
                .filter(hotline__in=hotlines)
                .filter(
                    Q(status=CallStatus.QUEUED)
                    | Q(status=CallStatus.OFFERED, offered_to=actor)
                    | Q(status=CallStatus.OFFERED, offer_expires_at__lte=now)
                )
                .order_by("rank_at", "id")
                .first()
            )
            if call is None:
                raise NotFound(_("No call is waiting."), code="queue_empty")
        else:
            call = Call.objects.select_for_update().get(pk=call.pk)
            if call.status not in WAITING_STATUSES:
                taker = str(call.operator) if call.operator_id else _("nobody")
                raise Conflict(
                    _("This call is no longer waiting (%(status)s; answered by %(who)s).")
                    % {"status": call.get_status_display(), "who": taker},
                    code="call_taken",
                )
            if (
                call.status == CallStatus.OFFERED
                and call.offered_to_id != actor.pk
                and call.offer_expires_at
                and call.offer_expires_at > now
            ):
                raise Conflict(
                    _("This call is being offered to %(who)s.") % {"who": str(call.offered_to)},
                    code="call_offered_to_another",
                )
        call.accept()
        call.operator = actor
        call.offered_to = None
        call.offer_expires_at = None
        call.answered_at = now
        call.save()
        if presence.hotline_id != call.hotline_id:
            presence.hotline_id = call.hotline_id
        presence.missed_offers = 0
        _set_presence_status(presence, PresenceStatus.ON_CALL, actor, now)
        CallbackTask.objects.filter(queue_call=call, status=CallbackTask.Status.OPEN).update(
            status=CallbackTask.Status.DONE, done_at=now
        )
        _publish_call(
            "call.accepted",
            call,
            actor,
            waited_seconds=int((now - call.queued_at).total_seconds()),
        )
        _end_surge_if_over(call.hotline_id, actor)
    _connect(call, actor, presence.device)
    return call


def _connect(call: Call, operator, device: str) -> None:
    """Bridge the caller to the operator through Twilio's REST API (outside the transaction:
    a slow or failed request must not hold the locks). With no Twilio account the console
    gateway just records the connection."""
    if call.channel not in (CallChannel.TWILIO_VOICE, CallChannel.CALLBACK):
        return
    twiml, target = voice.dial_twiml(operator, device)
    via = "console"
    if twilio_configured():
        try:
            client = twilio_client()
            if call.channel == CallChannel.CALLBACK:
                client.calls.create(
                    to=str(call.from_number), from_=settings.TWILIO_FROM_NUMBER, twiml=twiml
                )
            else:
                client.calls(call.call_sid).update(twiml=twiml)
            via = "twilio"
        except TwilioException:
            log.warning("connecting call %s to %s failed", call.call_sid, target, exc_info=True)
            via = "failed"
    Call.objects.filter(pk=call.pk).update(connected_via=via, connect_target=target)
    call.connected_via, call.connect_target = via, target


def call_status_changed(actor, *, call_sid: str, twilio_status: str) -> Call:
    """Twilio's status callback. A caller who hangs up while waiting is *abandoned* (kept and
    shown); if their open case is high or imminent risk a call-back goes to the top of the
    queue. Repeated deliveries change nothing twice."""
    now = timezone.now()
    with transaction.atomic():
        call = Call.objects.select_for_update().filter(call_sid=call_sid).first()
        if call is None:
            raise NotFound(_("Unknown call."), code="unknown_call")
        if twilio_status == call.twilio_status:
            return call
        call.twilio_status = twilio_status[:20]
        if twilio_status not in TERMINAL_TWILIO_STATUSES:
            call.save(update_fields=["twilio_status"])
            return call
        if call.status in WAITING_STATUSES:
            call.abandon()
            call.offered_to = None
            call.offer_expires_at = None
            call.ended_at = now
            call.save()
            _publish_call(
                "call.abandoned",
                call,
                actor,
                waited_seconds=int((now - call.queued_at).total_seconds()),
            )
            _request_callback(call, actor)
            _end_surge_if_over(call.hotline_id, actor)
        elif call.ended_at is None:
            call.ended_at = now
            call.save()
            _publish_call("call.ended", call, actor)
        else:
            call.save(update_fields=["twilio_status"])
    return call


def _request_callback(call: Call, actor) -> None:
    if call.channel == CallChannel.CALLBACK or call.case is None:
        return
    if not call.case.is_open or not risk_at_least(call.case.risk, Risk.HIGH):
        return
    if not call.from_number:
        return
    queued = _enqueue(
        actor,
        hotline=call.hotline,
        call_sid=f"CALLBACK-{call.pk}",
        channel=CallChannel.CALLBACK,
        from_raw=str(call.from_number),
        caller_name=call.caller_name,
        caller_relation=call.caller_relation,
        person=call.person,
        callback_of=call,
    )
    CallbackTask.objects.create(abandoned_call=call, queue_call=queued, case=call.case)
    _publish_call("call.callback_requested", queued, actor, abandoned_call=call.pk)


def identify_caller(
    actor,
    call: Call,
    *,
    caller_relation: str,
    person: Person | None = None,
    caller_name: str | None = None,
) -> Call:
    """Record who is calling and about whom (a parent may call about a child)."""
    if caller_relation not in CallerRelation.values:
        raise Invalid(
            _("Unknown caller relation: %s") % caller_relation,
            fields={"caller_relation": [_("Unknown value.")]},
        )
    if person is not None and not visible_people(actor).filter(pk=person.pk).exists():
        raise Forbidden(_("You may not see this person's record."))
    with transaction.atomic():
        call = Call.objects.select_for_update().get(pk=call.pk)
        _require_holder(actor, call, (CallStatus.IN_PROGRESS,))
        call.caller_relation = caller_relation
        if caller_name is not None:
            call.caller_name = caller_name
        if person is not None and person.pk != call.person_id:
            call.person = person
            call.case = person.cases.open().first() or open_case(
                actor, person=person, owning_organisation=call.hotline
            )
        call.save()
        _publish_call("call.identified", call, actor)
    return call


def _require_holder(actor, call: Call, statuses) -> None:
    if call.operator_id != actor.pk:
        raise Forbidden(_("You do not hold this call."), code="not_your_call")
    if call.status not in statuses:
        raise Conflict(
            _("The call is %(status)s; this cannot be done now.")
            % {"status": call.get_status_display()},
            code="wrong_call_status",
        )


def wrap_up_call(actor, call: Call, *, notes: str = "") -> Call:
    """话后处理 done: the call is completed and the operator is available again."""
    now = timezone.now()
    with transaction.atomic():
        call = Call.objects.select_for_update().get(pk=call.pk)
        if call.operator_id == actor.pk and call.status == CallStatus.IN_PROGRESS:
            raise Conflict(
                _("Triage the call and choose a disposition before wrap-up."),
                code="triage_first",
            )
        _require_holder(actor, call, (CallStatus.WRAP_UP,))
        presence = _presence_for(actor, call.hotline_id)
        call.complete()
        call.wrap_up_ended_at = now
        if notes:
            call.notes = (call.notes + "\n" + notes).strip()
        call.save()
        _publish_call("call.completed", call, actor, wrap_up_seconds=call.wrap_up_seconds)
        _set_presence_status(presence, PresenceStatus.AVAILABLE, actor, now)
        _offer_waiting(call.hotline_id, actor)
    return call


def set_presence(
    actor, *, status: str | None = None, device: str | None = None
) -> OperatorPresence:
    """An operator signs in, takes a break or signs off (on a call / wrap-up are set by calls)."""
    hotlines = _require_operator(actor)
    if status is not None and status not in USER_PRESENCE:
        raise Invalid(
            _("You can set yourself available, on a break or offline."),
            fields={"status": [_("Not a status you can set.")]},
        )
    if device is not None and device not in Device.values:
        raise Invalid(_("Unknown device."), fields={"device": [_("Unknown value.")]})
    with transaction.atomic():
        presence = _presence_for(actor, min(hotlines))
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
            _set_presence_status(presence, status, actor)
            if status == PresenceStatus.AVAILABLE:
                _offer_waiting(presence.hotline_id, actor)
            else:
                _withdraw_offers_to(presence, actor)
    return presence
