"""Writes to the case file. Every function checks the actor, changes state atomically, publishes."""

import functools
import logging
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.db.models.signals import post_delete, post_save
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import TransitionNotAllowed
from phonenumber_field.phonenumber import to_python
from twilio.base.exceptions import TwilioException

from core.errors import Conflict, Forbidden, Invalid, NotFound
from core.telephony import twilio_client, twilio_configured
from directory.access import has_role, is_administrator
from directory.models import Organisation, OrganisationKind, Region, Role
from hotline import intake, queue, voice
from hotline.closing import reasons_case_cannot_close
from hotline.events import call_audiences, call_data, case_opened_data
from hotline.events import person_summary as _person_summary
from hotline.models import (
    ADVANCE_TRANSITIONS,
    MANUAL_CHANNELS,
    RISK_ORDER,
    WAITING_STATUSES,
    Call,
    CallbackTask,
    CallChannel,
    CallerRelation,
    CallStatus,
    Case,
    CaseAccess,
    Device,
    Disposition,
    GuardianContact,
    OperatorPresence,
    Person,
    PresenceStatus,
    QueueSurge,
    Risk,
    Stage,
    StageVisit,
    Triage,
    risk_at_least,
)
from hotline.selectors import (
    CASE_ROLES,
    can_work_on_case,
    case_organisation_ids,
    is_inside_owner,
    operator_hotline_ids,
    visible_people,
    waiting_calls,
)
from hotline.signals import disposition_made
from hotline.triage import ITEMS, check_disposition, derive_risk, is_lower, missing_items
from realtime import audiences as aud
from realtime.publish import publish

# The actor of a system action: a verified Twilio webhook has no person behind it. Services that
# accept it skip the permission check (the edge has already authenticated the request by its
# signature) and publish with no actor. Never pass it from an edge with a signed-in user.
SYSTEM = None

PERSON_FIELDS = (
    "name",
    "is_anonymous",
    "phone",
    "gender",
    "birth_year",
    "address",
    "school",
    "notes",
)


def _require_case_role(actor, organisation: Organisation | None = None) -> None:
    if actor is SYSTEM or is_administrator(actor):
        return
    orgs = case_organisation_ids(actor)
    if not orgs or (organisation is not None and organisation.pk not in orgs):
        raise Forbidden(_("You are not a case worker of this organisation."))


def _require_case_access(actor, case: Case) -> None:
    if not can_work_on_case(actor, case):
        raise Forbidden(_("This case belongs to an organisation you do not work for."))


def _locked(case: Case) -> Case:
    return Case.objects.select_for_update().get(pk=case.pk)


def create_person(actor, *, home_region: Region | None = None, guardians=(), **fields) -> Person:
    """Register a person at risk (may be anonymous); guardians are ``{name, relation, phone}``."""
    _require_case_role(actor)
    unknown = set(fields) - set(PERSON_FIELDS)
    if unknown:
        raise Invalid(_("Unknown person fields: %s") % ", ".join(sorted(unknown)))
    with transaction.atomic():
        person = Person(home_region=home_region, **fields)
        person.full_clean()
        person.save()
        for g in guardians:
            contact = GuardianContact(person=person, **g)
            contact.full_clean()
            contact.save()
    return person


def update_person(actor, person: Person, *, guardians=None, **fields) -> Person:
    if not visible_people(actor).filter(pk=person.pk).exists():
        raise Forbidden(_("You may not change this person's record."))
    with transaction.atomic():
        person = Person.objects.select_for_update().get(pk=person.pk)
        for name, value in fields.items():
            if name not in (*PERSON_FIELDS, "home_region"):
                raise Invalid(_("Unknown person field: %s") % name)
            setattr(person, name, value)
        person.full_clean()
        person.save()
        if guardians is not None:
            person.guardians.all().delete()
            for g in guardians:
                contact = GuardianContact(person=person, **g)
                contact.full_clean()
                contact.save()
        for case in person.cases.open():
            publish("person.updated", case=case, actor=actor, data=_person_summary(person))
    return person


def open_case(
    actor,
    *,
    person: Person,
    owning_organisation: Organisation,
    risk: str = Risk.NONE,
    summary: str = "",
    stage: str = Stage.DISCOVERY,
    owner=None,
) -> Case:
    """Open the one case (一人一例) for a person; a second open case is refused."""
    _require_case_role(actor, owning_organisation)
    if stage not in (Stage.PREVENTION, Stage.DISCOVERY):
        raise Invalid(_("A case opens in prevention or discovery; it then moves along the loop."))
    if risk not in RISK_ORDER:
        raise Invalid(_("Unknown risk level: %s") % risk)
    existing = person.cases.open().first()
    if existing:
        raise Conflict(
            _("This person already has an open case (#%(id)s); add to it instead.")
            % {"id": existing.pk},
            code="open_case_exists",
        )
    if (
        actor is not SYSTEM
        and person.cases.exists()
        and not visible_people(actor).filter(pk=person.pk).exists()
    ):
        raise Forbidden(_("You may not open a case for this person."))
    try:
        with transaction.atomic():
            case = _insert_case(
                actor,
                person=person,
                owning_organisation=owning_organisation,
                owner=owner,
                risk=risk,
                summary=summary,
                stage=stage,
            )
    except IntegrityError as exc:
        # Two operators opening a case for the same person at once: the constraint decides.
        raise Conflict(_("This person already has an open case."), code="open_case_exists") from exc
    return case


def _insert_case(
    actor,
    *,
    person: Person,
    owning_organisation: Organisation,
    owner=None,
    risk: str = Risk.NONE,
    summary: str = "",
    stage: str = Stage.DISCOVERY,
) -> Case:
    """Write a new case, its first stage visit and ``case.opened`` (checks are the caller's).

    Runs in the caller's transaction. A case just written has no access grants yet, so its
    audience is its owner alone and publish need not look the grants up.
    """
    now = timezone.now()
    case = Case.objects.create(
        person=person,
        owning_organisation=owning_organisation,
        owner=owner,
        risk=risk,
        summary=summary,
        stage=stage,
        stage_entered_at=now,
        opened_at=now,
    )
    StageVisit.objects.create(case=case, stage=stage, entered_at=now)
    publish(
        "case.opened",
        case=case,
        actor=actor,
        data=case_opened_data(person, case),
        audiences=[aud.org(owning_organisation.pk)],
        include_case_audiences=False,
    )
    return case


def _enter_stage(case: Case, actor, old_stage: str, reason: str) -> None:
    now = timezone.now()
    StageVisit.objects.filter(case=case, left_at__isnull=True).update(left_at=now)
    StageVisit.objects.create(case=case, stage=case.stage, entered_at=now)
    case.stage_entered_at = now
    case.save()
    publish(
        "case.stage_changed",
        case=case,
        actor=actor,
        data={"from": old_stage, "to": case.stage, "reason": reason},
    )


def advance_case(actor, case: Case, stage: str, *, reason: str = "") -> Case:
    """Move a case forward along the loop 防范-发现-干预-帮扶-诊疗-回访 (stages may be skipped)."""
    if stage not in ADVANCE_TRANSITIONS:
        raise Invalid(_("Unknown or non-loop stage: %s") % stage)
    with transaction.atomic():
        case = _locked(case)
        _require_case_access(actor, case)
        old = case.stage
        try:
            getattr(case, ADVANCE_TRANSITIONS[stage])()
        except TransitionNotAllowed as exc:
            raise Conflict(
                _("The case is in %(old)s and cannot move to %(new)s: the loop only moves forward.")
                % {"old": Case(stage=old).get_stage_display(), "new": stage},
                code="illegal_transition",
            ) from exc
        _enter_stage(case, actor, old, reason)
    return case


def advance_case_if_behind(actor, case: Case, stage: str, *, reason: str = "") -> Case:
    """Advance to ``stage`` unless the case is already there or beyond (facts drive the loop)."""
    order = list(ADVANCE_TRANSITIONS)
    if case.stage == Stage.CLOSED or case.stage == stage:
        return case
    if case.stage in order and order.index(case.stage) > order.index(stage):
        return case
    return advance_case(actor, case, stage, reason=reason)


def _may_close(actor, case: Case) -> bool:
    if is_administrator(actor) or case.owner_id == actor.pk:
        return True
    return any(
        has_role(actor, Role.COORDINATOR, organisation=org)
        for org in Organisation.objects.filter(pk__in=case.audience_organisation_ids())
    )


def close_case(actor, case: Case, *, reason: str) -> Case:
    """Close the loop (闭环): by a coordinator, the owner or an administrator, nothing left open."""
    if not reason.strip():
        raise Invalid(_("Say why the case is being closed."))
    with transaction.atomic():
        case = _locked(case)
        _require_case_access(actor, case)
        if not _may_close(actor, case):
            raise Forbidden(_("Only a coordinator or the case owner may close a case."))
        blockers = reasons_case_cannot_close(case)
        if blockers:
            raise Conflict(
                _("The case cannot be closed yet: %s") % "; ".join(blockers),
                code="case_has_open_work",
            )
        old = case.stage
        try:
            case.close()
        except TransitionNotAllowed as exc:
            raise Conflict(_("The case is already closed."), code="illegal_transition") from exc
        case.closed_at = timezone.now()
        case.close_reason = reason
        StageVisit.objects.filter(case=case, left_at__isnull=True).update(left_at=case.closed_at)
        case.stage_entered_at = case.closed_at
        case.save()
        publish("case.closed", case=case, actor=actor, data={"from": old, "reason": reason})
    return case


def reopen_case(actor, case: Case, *, reason: str) -> Case:
    if not reason.strip():
        raise Invalid(_("Say why the case is being reopened."))
    try:
        with transaction.atomic():
            case = _locked(case)
            _require_case_access(actor, case)
            try:
                case.reopen()
            except TransitionNotAllowed as exc:
                raise Conflict(
                    _("Only a closed case can be reopened."), code="illegal_transition"
                ) from exc
            case.closed_at = None
            case.save()
            _enter_stage(case, actor, Stage.CLOSED, reason)
    except IntegrityError as exc:
        raise Conflict(
            _("This person already has another open case."), code="open_case_exists"
        ) from exc
    return case


def set_risk(actor, case: Case, risk: str, *, reason: str = "") -> Case:
    if risk not in RISK_ORDER:
        raise Invalid(_("Unknown risk level: %s") % risk)
    with transaction.atomic():
        case = _locked(case)
        _require_case_access(actor, case)
        if case.risk == risk:
            return case
        old = case.risk
        case.risk = risk
        case.save()
        publish(
            "case.risk_changed",
            case=case,
            actor=actor,
            data={"from": old, "to": risk, "reason": reason},
        )
    return case


def set_next_step(actor, case: Case, *, next_step: str, due=None, owner=None) -> Case:
    with transaction.atomic():
        case = _locked(case)
        _require_case_access(actor, case)
        case.next_step = next_step
        case.next_step_due = due
        if owner is not None:
            if not case_organisation_ids(owner) & case.audience_organisation_ids():
                raise Invalid(_("The new owner must work for an organisation that holds the case."))
            case.owner = owner
        case.save()
        publish(
            "case.next_step_set",
            case=case,
            actor=actor,
            data={
                "next_step": next_step,
                "due": due.isoformat() if due else None,
                "owner": case.owner_id,
            },
        )
    return case


def grant_access(
    case: Case, organisation: Organisation, *, reason: str, granted_by=None, note: str = ""
) -> CaseAccess:
    """Open a case to another organisation (called by referrals, dispatch, break-glass)."""
    grant, created = CaseAccess.objects.get_or_create(
        case=case,
        organisation=organisation,
        reason=reason,
        revoked_at=None,
        defaults={"granted_by": granted_by, "note": note},
    )
    if created:
        publish(
            "case.access_granted",
            case=case,
            actor=granted_by,
            data={"organisation": organisation.pk, "name": organisation.name, "reason": reason},
        )
    return grant


def record_case_read(user, case: Case, *, what: str = "case") -> None:
    """Put a read from outside the owning organisation on the audit trail (not broadcast)."""
    if is_inside_owner(user, case):
        return
    publish(
        "case.read",
        case=case,
        actor=user,
        data={"what": what, "user": user.pk, "username": user.get_username()},
        audiences=[aud.AUDIT],
        include_case_audiences=False,
        broadcast=False,
    )


__all__ = [
    "CASE_ROLES",
    "advance_case",
    "advance_case_if_behind",
    "close_case",
    "create_person",
    "grant_access",
    "open_case",
    "record_case_read",
    "reopen_case",
    "set_next_step",
    "set_risk",
    "update_person",
]


# --- calls, the queue, operators and triage (热线来电、排队、接线与分级研判) ------------------

log = logging.getLogger(__name__)

TERMINAL_TWILIO_STATUSES = {"completed", "busy", "failed", "no-answer", "canceled"}
USER_PRESENCE = {PresenceStatus.AVAILABLE, PresenceStatus.BREAK, PresenceStatus.OFFLINE}


# Every incoming call needs the centre; it is looked up once per process and forgotten when any
# organisation is saved or deleted here, or after HOTLINE_CENTRE_CACHE_SECONDS (another process may
# have changed it). Read-only: callers only use it as the calls' foreign key.
HOTLINE_CENTRE_CACHE_SECONDS = 60.0
_hotline_centre: dict[str, tuple[float, Organisation]] = {}


def forget_hotline_centre(**_kwargs) -> None:
    _hotline_centre.clear()


post_save.connect(forget_hotline_centre, sender=Organisation, dispatch_uid="hotline.centre.save")
post_delete.connect(forget_hotline_centre, sender=Organisation, dispatch_uid="hotline.centre.del")


def hotline_for_webhook() -> Organisation:
    """The hotline centre that answers 2251885 (``HOTLINE_ORGANISATION_CODE``, else the first)."""
    code = settings.HOTLINE_ORGANISATION_CODE
    cached = _hotline_centre.get(code)
    if cached is not None and time.monotonic() - cached[0] < HOTLINE_CENTRE_CACHE_SECONDS:
        return cached[1]
    qs = Organisation.objects.filter(kind=OrganisationKind.HOTLINE_CENTRE, is_active=True)
    org = (qs.filter(code=code) if code else qs.order_by("pk")).first()
    if org is None:
        raise NotFound(_("No hotline centre is configured."), code="no_hotline")
    _hotline_centre[code] = (time.monotonic(), org)
    return org


@functools.lru_cache(maxsize=4096)
def normalise_number(raw: str):
    """E.164 for a real number (China by default); None for withheld/"anonymous"/client ids.

    Cached: parsing is a good part of an incoming webhook's CPU and the same numbers (ours, and
    repeat callers') come back. The result is shared, so it must not be mutated.
    """
    raw = (raw or "").strip()
    if not raw or raw.startswith("client:"):
        return None
    number = to_python(raw, region="CN")
    if number is None or not getattr(number, "is_valid", lambda: False)():
        return None
    return number


def _publish_call(type_: str, call: Call, actor, **extra) -> None:
    publish(
        type_,
        case=call.case,
        actor=actor,
        data={**call_data(call), **extra},
        audiences=call_audiences(call),
    )


def _presence_data(p: OperatorPresence) -> dict:
    return {
        "operator": p.user_id,
        "operator_name": str(p.user),
        "status": p.status,
        "device": p.device,
        "since": p.since.isoformat(),
        "last_idle_at": p.last_idle_at.isoformat(),
    }


def _set_presence_status(p: OperatorPresence, status: str, actor, now=None) -> None:
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
        data=_presence_data(p),
        audiences=[aud.org(p.hotline_id), aud.user(p.user_id)],
    )


class _Prepared:
    """An ORM query compiled to SQL once per process and database, then run with one new value.

    Compiling a query costs about a millisecond of CPU here - more than PostgreSQL takes to run
    it - and each incoming call runs the same few. ``build(value)`` returns the queryset; the
    sentinel value given at compile time marks where the real one goes in the parameters.
    """

    def __init__(self, build, sentinel) -> None:
        self._build = build
        self._sentinel = sentinel
        self._compiled: dict[tuple[str, str], tuple[str, tuple]] = {}

    def sql(self, value) -> tuple[str, list]:
        key = (connection.alias, connection.vendor)
        compiled = self._compiled.get(key)
        if compiled is None:
            query = self._build(self._sentinel).query
            sql, params = query.get_compiler(connection.alias).as_sql()
            if self._sentinel not in params:
                raise ValueError("the prepared query lost its parameter")
            compiled = self._compiled[key] = (sql, tuple(params))
        sql, params = compiled
        return sql, [value if p == self._sentinel else p for p in params]

    def raw(self, model, value) -> list:
        """The rows as ``model`` instances (the ORM's converters applied)."""
        sql, params = self.sql(value)
        return list(model.objects.raw(sql, params))

    def scalars(self, value, *, count: bool = False) -> list:
        sql, params = self.sql(value)
        if count:
            # The inner SQL is the ORM's own, with parameters kept apart.
            sql = f"SELECT COUNT(*) FROM ({sql}) prepared_count"  # noqa: S608
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return [row[0] for row in cursor.fetchall()]


_ID_SENTINEL = -7_000_000_001

_waiting_in_queue = _Prepared(
    lambda hotline_id: Call.objects.filter(
        hotline_id=hotline_id, status__in=WAITING_STATUSES
    ).values("id"),
    _ID_SENTINEL,
)


def _queue_length(hotline_id: int) -> int:
    return _waiting_in_queue.scalars(hotline_id, count=True)[0]


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
    now = timezone.now()
    number = normalise_number(from_raw)
    details = intake.Intake(
        hotline=hotline,
        call_sid=call_sid,
        channel=channel,
        number=number,
        from_raw=from_raw,
        to_number=normalise_number(to_raw),
        caller_name=caller_name,
        caller_relation=caller_relation,
        notes=notes,
        actor_id=actor.pk if actor is not None else None,
        callback_of=callback_of,
    )
    if person is None:
        # 来电识别 and the writes in a fixed few statements (hotline/intake.py).
        found = intake.identify(number, hotline.pk, _free_operator.sql(hotline.pk))
        call, _events = intake.enqueue(details, found, _priority)
        if found.operator_free:
            _offer_waiting(hotline.pk, actor)
        _check_surge(hotline, actor)
        return call
    case = person.cases.open().first() or open_case(
        actor, person=person, owning_organisation=hotline
    )
    priority, reasons = _priority(channel, case)
    call = details.build_call(person, case, priority, reasons, now)
    call.save(force_insert=True)
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
    """Offers not taken within ``HOTLINE_OFFER_TIMEOUT_SECONDS`` go back to the queue; the
    operator who let one lapse is put on a break (like a missed reservation), so the next
    offer goes to someone who is there."""
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
            _publish_call("call.offer_expired", call, actor, missed_by=missed_by)
            presence = (
                OperatorPresence.objects.select_for_update().filter(user_id=missed_by).first()
            )
            if presence and presence.status == PresenceStatus.AVAILABLE:
                _set_presence_status(presence, PresenceStatus.BREAK, actor, now)
            n += 1
        if n:
            _offer_waiting(hotline_id, actor)
    return n


def _free_operators_query(hotline_id: int):
    """Available operators of the hotline not holding an offer."""
    busy = Call.objects.filter(hotline_id=hotline_id, status=CallStatus.OFFERED).values(
        "offered_to"
    )
    return OperatorPresence.objects.filter(
        hotline_id=hotline_id, status=PresenceStatus.AVAILABLE
    ).exclude(user__in=busy)


# Longest idle first, rows locked (skipping locked): who gets the next offer.
_free_operators = _Prepared(
    lambda hotline_id: (
        _free_operators_query(hotline_id)
        .select_for_update(skip_locked=True)
        .order_by("last_idle_at", "pk")
    ),
    _ID_SENTINEL,
)
# Is anyone free? Asked inside intake's look-up, so a full queue costs no extra query.
_free_operator = _Prepared(
    lambda hotline_id: _free_operators_query(hotline_id).values("id"), _ID_SENTINEL
)


def _offer_waiting(hotline_id: int, actor) -> None:
    """Offer queued calls to available operators, longest idle first (one offer each)."""
    now = timezone.now()
    for presence in _free_operators.raw(OperatorPresence, hotline_id):
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


# When each hotline's queue was last counted by this process (see ``_check_surge``).
_surge_checked_at: dict[int, float] = {}


def _check_surge(hotline: Organisation, actor, *, force: bool = False) -> None:
    """话务高峰 detection. Counting the queue costs what the queue holds, and a surge is exactly
    when calls pour in, so each process counts at most every ``HOTLINE_SURGE_CHECK_SECONDS``;
    the worker's housekeeping counts every second (``check_surges``), so a surge that begins
    between two calls is still announced within a second or so."""
    now = time.monotonic()
    if not force:
        last = _surge_checked_at.get(hotline.pk)
        if last is not None and now - last < settings.HOTLINE_SURGE_CHECK_SECONDS:
            return
    _surge_checked_at[hotline.pk] = now
    length = _queue_length(hotline.pk)
    if length <= settings.HOTLINE_SURGE_QUEUE_LENGTH:
        return
    open_surge = QueueSurge.objects.filter(hotline=hotline, ended_at__isnull=True).first()
    if open_surge is not None:
        if length > open_surge.peak_length:
            QueueSurge.objects.filter(pk=open_surge.pk).update(peak_length=length)
        return
    try:
        with transaction.atomic():
            surge = QueueSurge.objects.create(hotline=hotline, peak_length=length)
    except IntegrityError:
        return  # another call started this surge a moment ago
    _on_surge(hotline, surge, length)


def check_surges() -> None:
    """Housekeeping: count every hotline's queue once (a surge may begin or grow between calls)."""
    for hotline in Organisation.objects.filter(
        kind=OrganisationKind.HOTLINE_CENTRE, is_active=True
    ):
        _check_surge(hotline, SYSTEM, force=True)


def _on_surge(hotline: Organisation, surge: QueueSurge, length: int) -> None:
    """话务高峰: announced once per surge to the centre's coordinators. The hook the escalation
    app's alerts attach to (replace or extend this one function)."""
    publish(
        "queue.surge",
        data={
            "hotline": hotline.pk,
            "surge": surge.pk,
            "queue_length": length,
            "threshold": settings.HOTLINE_SURGE_QUEUE_LENGTH,
            "started_at": surge.started_at.isoformat(),
        },
        audiences=[aud.org_role(hotline.pk, Role.COORDINATOR), aud.org(hotline.pk)],
    )


def _end_surge_if_over(hotline_id: int, actor) -> None:
    if _queue_length(hotline_id) > settings.HOTLINE_SURGE_QUEUE_LENGTH:
        return
    now = timezone.now()
    for surge in QueueSurge.objects.filter(hotline_id=hotline_id, ended_at__isnull=True):
        surge.ended_at = now
        surge.save(update_fields=["ended_at"])
        publish(
            "queue.surge_ended",
            actor=actor,
            data={"hotline": hotline_id, "surge": surge.pk, "peak_length": surge.peak_length},
            audiences=[aud.org_role(hotline_id, Role.COORDINATOR), aud.org(hotline_id)],
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


def triage_call(
    actor,
    call: Call,
    *,
    screen: dict,
    disposition: str,
    protective_factors: list[str] = (),
    notes: str = "",
    risk: str | None = None,
    lowered_reason: str = "",
    override_reason: str = "",
    consent: bool = True,
    consent_override_reason: str = "",
    contact_phone: str = "",
    location: str = "",
) -> Triage:
    """分级研判与处置: record the risk screen, fix the risk and make exactly one disposition
    (resolved / refer / emergency), all in one transaction with the receivers of
    ``disposition_made`` (the referral or the dispatch is created with it, or nothing is)."""
    missing = missing_items(screen)
    if missing:
        raise Invalid(
            _("The risk screen is incomplete; answer: %s") % ", ".join(missing),
            code="screen_incomplete",
            fields={item: [_("This item is required.")] for item in missing},
        )
    if disposition not in Disposition.values:
        raise Invalid(
            _("Choose one disposition: resolved, refer or emergency."),
            fields={"disposition": [_("Unknown value.")]},
        )
    derived = derive_risk(screen)
    final = risk or derived
    if final not in RISK_ORDER:
        raise Invalid(_("Unknown risk level: %s") % final, fields={"risk": [_("Unknown value.")]})
    if is_lower(final, derived) and not lowered_reason.strip():
        raise Invalid(
            _("Lowering the risk below the screen's %(derived)s needs a written reason.")
            % {"derived": derived},
            code="lowering_needs_reason",
            fields={"lowered_reason": [_("Required when lowering the risk.")]},
        )
    check_disposition(final, disposition, override_reason)
    if not consent and not consent_override_reason.strip():
        raise Invalid(
            _("Without the caller's consent, say why the information is shared."),
            fields={"consent_override_reason": [_("Required without consent.")]},
        )
    now = timezone.now()
    with transaction.atomic():
        call = Call.objects.select_for_update().get(pk=call.pk)
        _require_holder(actor, call, (CallStatus.IN_PROGRESS,))
        case = call.case
        if case is None or not case.is_open:
            person = call.person or create_person(actor, is_anonymous=True)
            case = person.cases.open().first() or open_case(
                actor, person=person, owning_organisation=call.hotline
            )
            call.person, call.case = person, case
        screen_values = {item: screen.get(item) for item in ITEMS}
        triage = Triage.objects.create(
            call=call,
            case=case,
            operator=actor,
            **screen_values,
            protective_factors=list(protective_factors),
            notes=notes,
            derived_risk=derived,
            risk=final,
            lowered_reason=lowered_reason,
            disposition=disposition,
            override_reason=override_reason,
            consent=consent,
            consent_override_reason=consent_override_reason,
            contact_phone=contact_phone,
            location=location,
            created_at=now,
        )
        reason = lowered_reason or _("Hotline triage (call %(id)s)") % {"id": call.pk}
        case = set_risk(actor, case, final, reason=reason)
        case = advance_case_if_behind(
            actor, case, Stage.INTERVENTION, reason=_("Triaged on a hotline call")
        )
        step = _next_step_for(disposition, final, now)
        if step is not None:
            case = set_next_step(actor, case, next_step=step[0], due=step[1])
        case = _locked(case)
        call.case = case
        call.start_wrap_up()
        call.wrap_up_started_at = now
        call.save()
        presence = _presence_for(actor, call.hotline_id)
        _set_presence_status(presence, PresenceStatus.WRAP_UP, actor, now)
        summary = {
            "risk": final,
            "derived_risk": derived,
            "screen": screen_values,
            "protective_factors": list(protective_factors),
            "notes": notes,
            "caller_relation": call.caller_relation,
            "consent": consent,
            "consent_override_reason": consent_override_reason,
            "contact_phone": str(contact_phone or call.from_number or ""),
            "location": location,
            "override_reason": override_reason,
        }
        disposition_made.send(
            sender=Triage,
            actor=actor,
            case=case,
            disposition=disposition,
            call=call,
            summary=summary,
        )
        _publish_call(
            "call.triaged",
            call,
            actor,
            triage=triage.pk,
            derived_risk=derived,
            risk=final,
            lowered_reason=lowered_reason,
            disposition=disposition,
            override_reason=override_reason,
        )
    return triage


def _next_step_for(disposition: str, risk: str, now) -> tuple[str, object] | None:
    if disposition == Disposition.EMERGENCY:
        return _("Emergency dispatch (one-key) in progress"), now
    if disposition == Disposition.REFER:
        return _("Referral to the counselling centre"), now + timedelta(
            hours=settings.HOTLINE_REFERRAL_DUE_HOURS
        )
    if risk_at_least(risk, Risk.MODERATE):
        return _("Follow-up call (回访)"), now + timedelta(hours=settings.HOTLINE_FOLLOW_UP_HOURS)
    return None


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
            _set_presence_status(presence, status, actor)
            if status == PresenceStatus.AVAILABLE:
                _offer_waiting(presence.hotline_id, actor)
    return presence


__all__ += [
    "SYSTEM",
    "accept_call",
    "call_data",
    "call_status_changed",
    "enter_manual_call",
    "expire_offers",
    "hotline_for_webhook",
    "identify_caller",
    "receive_call",
    "set_presence",
    "triage_call",
    "wrap_up_call",
]
