"""Calls and the queue (热线来电、排队、接线): intake, accept, connect, status, call-back,
identify, wrap-up. Operators' presence and the offers of calls are ``presence``.

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

from core.errors import Conflict, Forbidden, Invalid, NotFound
from directory.models import Organisation, OrganisationKind
from hotline import queue
from hotline.caseplan import refresh_next_step
from hotline.conversations import display_name, send_to_visitor
from hotline.events import publish_call, publish_callback
from hotline.models import (
    MANUAL_CHANNELS,
    TEXT_CHANNELS,
    WAITING_STATUSES,
    Call,
    CallbackAttempt,
    CallbackOutcome,
    CallbackTask,
    CallChannel,
    CallerRelation,
    CallStatus,
    Case,
    HotlineLine,
    Person,
    PresenceStatus,
    Risk,
    risk_at_least,
)
from hotline.selectors import at_centres, person_with_number, visible_people
from hotline.services import aftercall
from hotline.services.cases import SYSTEM, _insert_case, open_case
from hotline.services.conference import start_conference
from hotline.services.presence import (
    held_contacts,
    offer_waiting,
    presence_for,
    require_operator,
    set_presence_status,
    settle_presence,
)
from hotline.services.surge import _check_surge, _end_surge_if_over

log = logging.getLogger(__name__)

# A person race, then a case race (a known person's case closed meanwhile), then the insert.
INTAKE_ATTEMPTS = 3

TERMINAL_TWILIO_STATUSES = {"completed", "busy", "failed", "no-answer", "canceled"}


def hotline_for_webhook(to_raw: str = "") -> Organisation:
    """The hotline centre whose number was dialled (its ``HotlineLine``), else the one that
    answers 2251885 (``HOTLINE_ORGANISATION_CODE``, else the first)."""
    number = normalise_number(to_raw)
    line = (
        HotlineLine.objects.filter(number=number, organisation__is_active=True)
        .select_related("organisation")
        .first()
        if number
        else None
    )
    if line is not None:
        return line.organisation
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


def _priority(channel: str, case: Case | None, not_safe: bool = False) -> tuple[int, list[str]]:
    priority, reasons = 0, []
    if channel == CallChannel.CALLBACK:
        priority += queue.PRIORITY_CALLBACK
        reasons.append("callback")
    if not_safe:
        priority += queue.PRIORITY_NOT_SAFE_NOW
        reasons.append("not_safe_now")
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
    received_at=None,
    answered_by_duty_phone: str = "",
    offer: bool = True,
    not_safe: bool = False,
) -> Call:
    """来电识别 and 入队, in the caller's transaction: the person (given, or the one with the
    number, or a new one), their open case (or a new one), the call and ``call.queued``.

    A call the outage fallback put through to the duty phone (``answered_by_duty_phone``) is
    recorded as it was: queued when it came in, and ended at once, never offered."""
    number = normalise_number(from_raw)
    if person is None and number is not None:
        person = person_with_number(number)
    case = person.cases.open().first() if person is not None else None
    if person is None:
        person = Person.objects.create(phone=number or "", is_anonymous=number is None)
    if case is None:
        case = _insert_case(actor, person=person, owning_organisation=hotline)
    now = received_at or timezone.now()
    if channel != CallChannel.CALLBACK:
        _cancel_pending_callbacks(actor, case, now)
    priority, reasons = _priority(channel, case, not_safe)
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
    publish_call("call.queued", call, actor)
    if answered_by_duty_phone:
        call.abandon()
        call.ended_at = now
        call.connected_via, call.connect_target = "fallback", answered_by_duty_phone
        call.save()
        publish_call("call.abandoned", call, actor, waited_seconds=0, via="fallback")
        return call
    if offer:
        offer_waiting(hotline.pk, actor)
    _check_surge(hotline, actor)
    return call


def abandon_waiting(call: Call, actor, now, **data) -> None:
    """放弃: the caller (or texter) left the queue before anyone answered; announced once."""
    call.abandon()
    call.offered_to = None
    call.offer_expires_at = None
    call.ended_at = now
    call.save()
    publish_call(
        "call.abandoned",
        call,
        actor,
        waited_seconds=int((now - call.queued_at).total_seconds()),
        **data,
    )


def receive_call(actor, *, hotline: Organisation, call_sid: str, **fields) -> tuple[Call, bool]:
    """Put a call in the queue, once per ``call_sid``: (call, created).

    A repeated Twilio delivery, or two deliveries racing, both try the insert: the unique
    ``call_sid`` makes the second fail, and its whole transaction (person, case, events) rolls
    back, so nothing is written twice and the existing call is returned. (No look-up first: a
    repeat is rare, and the index has to be asked anyway.) First calls from one new number at
    once race to create the person (the one-person-per-phone index), and one person's calls on
    two lines race to open the case (the one-open-case index): on PostgreSQL the losers' inserts
    wait for the winner to commit, then fail and roll back, and are taken again, now finding the
    person and the case the winner wrote (a fresh snapshot at READ COMMITTED).
    """
    for attempt in range(1, INTAKE_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                return _enqueue(actor, hotline=hotline, call_sid=call_sid, **fields), True
        except IntegrityError:
            existing = Call.objects.filter(call_sid=call_sid).first()
            if existing is not None:
                return existing, False
            if attempt == INTAKE_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def record_outage_call(
    *, call_sid: str, from_raw: str, to_raw: str, received_at, duty_phone: str
) -> tuple[Call, bool]:
    """A call the webhook answered while the database was down (its spool record), now written
    through the ordinary intake: (call, created). With ``duty_phone`` the caller was put through
    to it, so the call is recorded as ended by the fallback; without one the caller waits in
    Twilio's queue and the call is queued for an operator as usual. Replaying twice, or a call
    that Twilio delivered again once the database was back, records it once (its CallSid)."""
    note = (
        _("Came in while the database was down; put through to the duty phone %(number)s.")
        % {"number": duty_phone}
        if duty_phone
        else _("Came in while the database was down; held in the queue.")
    )
    return receive_call(
        SYSTEM,
        hotline=hotline_for_webhook(to_raw),
        call_sid=call_sid,
        channel=CallChannel.TWILIO_VOICE,
        from_raw=from_raw,
        to_raw=to_raw,
        notes=note,
        received_at=received_at,
        answered_by_duty_phone=duty_phone,
    )


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
    hotlines = require_operator(actor, hotline.pk if hotline else None)
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


def accept_call(actor, call: Call | None = None) -> Call:
    """接听: take a waiting call (or, with ``call=None``, the first one in queue order).

    Race-safe: the call row is locked and its status re-read, so of two operators accepting the
    same call one wins and the other gets 409. "Accept the next" skips rows another operator
    holds locked at this moment, so two such operators get two different calls.
    """
    hotlines = require_operator(actor, call.queue_centre_id if call else None)
    now = timezone.now()
    with transaction.atomic():
        # Lock order: the operator's presence, then the call.
        presence = presence_for(actor, call.queue_centre_id if call else min(hotlines))
        # Under the presence lock: what the operator holds cannot change meanwhile.
        texts_only = _capacity(actor, presence, call)
        if call is None:
            waiting = Call.objects.select_for_update(skip_locked=True).filter(at_centres(hotlines))
            if texts_only:
                waiting = waiting.filter(channel__in=TEXT_CHANNELS)
            call = (
                waiting.filter(
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
        if presence.hotline_id != call.queue_centre_id:
            presence.hotline_id = call.queue_centre_id
        presence.missed_offers = 0
        set_presence_status(presence, PresenceStatus.ON_CALL, actor, now)
        # A call-back taken stays open until its attempt's outcome is recorded.
        publish_call(
            "call.accepted",
            call,
            actor,
            waited_seconds=int((now - call.queued_at).total_seconds()),
        )
        _end_surge_if_over(call.queue_centre_id, actor)
        if call.channel in TEXT_CHANNELS:
            # Room for another chat: the next one waiting may be offered to them now.
            offer_waiting(call.queue_centre_id, actor)
        if call.channel == CallChannel.WEBCHAT:
            send_to_visitor(call, {"type": "chat.accepted", "operator": display_name(actor)})
    _connect(call, actor, presence.device)
    return call


def _capacity(actor, presence, call: Call | None) -> bool:
    """Refuse a contact the operator may not hold now: anything beside a voice call, a voice call
    beside a text conversation, a text conversation beyond ``HOTLINE_MAX_CHATS``. True when
    only a text conversation may be taken (for "accept the next")."""
    if presence.status not in (PresenceStatus.ON_CALL, PresenceStatus.WRAP_UP):
        return False
    texts, voices = held_contacts(actor.pk)
    busy = Conflict(
        _("Finish your current call (and its wrap-up) before taking another."),
        code="operator_busy",
    )
    if voices or not texts:
        raise busy
    if call is not None and call.channel not in TEXT_CHANNELS:
        raise Conflict(
            _("Finish your text conversations before taking a phone call."),
            code="operator_busy",
        )
    if texts >= settings.HOTLINE_MAX_CHATS:
        raise Conflict(
            _("You already hold %(n)s text conversations; finish one before taking another.")
            % {"n": texts},
            code="too_many_chats",
        )
    return True


def _connect(call: Call, operator, device: str) -> None:
    """Make the call a conference with the operator in it (``services.conference``), outside
    the transaction: a slow or failed request must not hold the locks. With no Twilio account
    the console gateway just records the legs."""
    if call.channel not in (CallChannel.TWILIO_VOICE, CallChannel.CALLBACK):
        return
    via, target = start_conference(call, operator, device)
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
            abandon_waiting(call, actor, now)
            _request_callback(call, actor)
            _end_surge_if_over(call.queue_centre_id, actor)
        elif call.ended_at is None:
            call.ended_at = now
            call.save()
            publish_call("call.ended", call, actor)
        else:
            call.save(update_fields=["twilio_status"])
    return call


def _request_callback(call: Call, actor) -> None:
    """Every abandoned call from a real number gets a call-back task: a known high-risk person's
    goes into the queue now, anyone else's after ``CALLBACK_DELAY_SECONDS`` (the worker's
    ``callbacks.sweep``). One open task per case: a second hang-up adds nothing. A withheld
    number has nobody to call back; ``callbacks.sweep`` closes its case if it stays empty."""
    if call.channel == CallChannel.CALLBACK or call.case is None or not call.from_number:
        return
    if not call.case.is_open or call.case.callback_tasks.filter(status="open").exists():
        return
    now = call.ended_at or timezone.now()
    urgent = risk_at_least(call.case.risk, Risk.HIGH)
    task = CallbackTask.objects.create(
        abandoned_call=call,
        case=call.case,
        risk=call.case.risk,
        due_at=now if urgent else now + timedelta(seconds=settings.CALLBACK_DELAY_SECONDS),
        created_at=now,
    )
    publish_callback("callback.scheduled", task, actor)
    if urgent:
        _queue_callback(task, actor)
    refresh_next_step(call.case, actor)  # the call-back is the case's next step


def _queue_callback(task: CallbackTask, actor, *, offer: bool = True) -> Call:
    """Put a call-back in the call queue (priority: a call-back, plus known high risk), in the
    caller's transaction with ``task`` locked. ``offer=False`` when an operator takes it at
    once: offering it first could hand it to another free operator (409 to the taker)."""
    abandoned = task.abandoned_call
    tries = Call.objects.filter(callback_of=abandoned).count()
    queued = _enqueue(
        actor,
        hotline=abandoned.hotline,
        call_sid=f"CALLBACK-{abandoned.pk}" + (f"-{tries + 1}" if tries else ""),
        channel=CallChannel.CALLBACK,
        from_raw=str(abandoned.from_number),
        caller_name=abandoned.caller_name,
        caller_relation=abandoned.caller_relation,
        person=abandoned.person,
        callback_of=abandoned,
        offer=offer,
    )
    task.queue_call = queued
    task.save(update_fields=["queue_call"])
    publish_call(
        "call.callback_requested", queued, actor, abandoned_call=abandoned.pk, callback=task.pk
    )
    return queued


def _close_callback(task: CallbackTask, actor, outcome: str, now, note: str = "") -> None:
    task.status = CallbackTask.Status.DONE
    task.outcome = outcome
    task.done_at = now
    task.save(update_fields=["status", "outcome", "done_at"])
    publish_callback("callback.closed", task, actor, note=note)
    refresh_next_step(task.case, actor)


def _cancel_pending_callbacks(actor, case: Case, now) -> None:
    """The caller rang again before their call-back was dialled: it is no longer needed (one
    already in the queue or being dialled stays, the operator sees both)."""
    pending = case.callback_tasks.select_for_update().filter(
        status=CallbackTask.Status.OPEN, queue_call__isnull=True
    )
    for task in pending:
        _close_callback(task, actor, CallbackOutcome.CALLED_AGAIN, now)


def _callback_reached_on_triage(actor, call: Call, now) -> None:
    """A call-back triaged without an attempt recorded reached the person: say so."""
    for task in CallbackTask.objects.select_for_update().filter(
        queue_call=call, status=CallbackTask.Status.OPEN
    ):
        CallbackAttempt.objects.create(
            task=task, call=call, operator=actor, outcome=CallbackOutcome.REACHED, at=now
        )
        _close_callback(task, actor, CallbackOutcome.REACHED, now)


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
        publish_call("call.identified", call, actor)
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


def wrap_up_call(actor, call: Call, *, notes: str = "", sms_consent: bool = False) -> Call:
    """话后处理 done: the call is completed and the operator is available again. With the
    caller's consent (asked on the call) the post-call SMS with the hotline's numbers goes out
    once the wrap-up has committed."""
    now = timezone.now()
    sms = None
    with transaction.atomic():
        call = Call.objects.select_for_update().get(pk=call.pk)
        if call.operator_id == actor.pk and call.status == CallStatus.IN_PROGRESS:
            raise Conflict(
                _("Triage the call and choose a disposition before wrap-up."),
                code="triage_first",
            )
        _require_holder(actor, call, (CallStatus.WRAP_UP,))
        aftercall.check_sms_consent(call, sms_consent)
        presence = presence_for(actor, call.queue_centre_id)
        call.complete()
        call.wrap_up_ended_at = now
        if notes:
            call.notes = (call.notes + "\n" + notes).strip()
        call.save()
        publish_call("call.completed", call, actor, wrap_up_seconds=call.wrap_up_seconds)
        settle_presence(presence, actor, now)  # another chat may still be held
        offer_waiting(call.queue_centre_id, actor)
        if sms_consent:
            sms = aftercall.record_post_call_sms(actor, call)
    if sms is not None:
        aftercall.send_post_call_sms(actor, sms)
    return call
