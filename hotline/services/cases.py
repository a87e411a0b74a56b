"""The case file (一人一例): people, the one open case, its loop, risk, next step and grants.

Every public function takes the acting user, checks permission, changes state atomically and
publishes. The underscore helpers take a case already locked and checked, so a service that
does several things to one case (triage) locks it and checks the actor once.
"""

from contextlib import contextmanager

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Conflict, Forbidden, Invalid, refused_as_conflict
from directory.access import has_role, is_administrator
from directory.models import Organisation, Region, Role
from hotline.closing import reasons_case_cannot_close
from hotline.events import case_opened_data, person_summary
from hotline.models import (
    ADVANCE_TRANSITIONS,
    PHONE_TAKEN,
    RISK_ORDER,
    Case,
    CaseAccess,
    GuardianContact,
    Person,
    Risk,
    Stage,
    StageVisit,
)
from hotline.selectors import (
    can_work_on_case,
    case_organisation_ids,
    is_inside_owner,
    visible_people,
)
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


@contextmanager
def _phone_clash_as_field_error():
    """The one-person-per-phone constraint, as an error beside the phone field: found by
    ``full_clean``, or by the index when two saves race past it."""
    try:
        yield
    except ValidationError as exc:
        if PHONE_TAKEN not in {
            e.code for e in getattr(exc, "error_dict", {}).get(NON_FIELD_ERRORS, [])
        }:
            raise
        raise _phone_taken() from exc
    except IntegrityError as exc:
        if "one_person_per_phone" not in str(exc):
            raise
        raise _phone_taken() from exc


def _phone_taken() -> Invalid:
    message = _("A person with this phone number is already on file.")
    return Invalid(message, code=PHONE_TAKEN, fields={"phone": [message]})


def create_person(actor, *, home_region: Region | None = None, guardians=(), **fields) -> Person:
    """Register a person at risk (may be anonymous); guardians are ``{name, relation, phone}``."""
    _require_case_role(actor)
    unknown = set(fields) - set(PERSON_FIELDS)
    if unknown:
        raise Invalid(_("Unknown person fields: %s") % ", ".join(sorted(unknown)))
    with _phone_clash_as_field_error(), transaction.atomic():
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
    with _phone_clash_as_field_error(), transaction.atomic():
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
            publish("person.updated", case=case, actor=actor, data=person_summary(person))
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
    """Write a new case (``Case.save`` gives it its district), its first stage visit and
    ``case.opened``; the checks are the caller's. The only writer of a new case: ``open_case``
    and an incoming call's intake both come here.

    Runs in the caller's transaction, where a second open case for the person fails on the
    ``one_open_case_per_person`` index (IntegrityError). A case just written has no access
    grants yet, so its audience is its owner alone and publish need not look the grants up.
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


def _advance(actor, case: Case, stage: str, reason: str) -> None:
    """Move a locked case forward to ``stage`` (a known loop stage) and record the visit."""
    old = case.stage
    with refused_as_conflict(
        _("The case is in %(old)s and cannot move to %(new)s: the loop only moves forward.")
        % {"old": case.get_stage_display(), "new": stage}
    ):
        getattr(case, ADVANCE_TRANSITIONS[stage])()
    _enter_stage(case, actor, old, reason)


def _is_behind(case: Case, stage: str) -> bool:
    """Is the case open and still before ``stage`` on the loop?"""
    order = list(ADVANCE_TRANSITIONS)
    if case.stage == Stage.CLOSED or case.stage == stage:
        return False
    return not (case.stage in order and order.index(case.stage) > order.index(stage))


def advance_case(actor, case: Case, stage: str, *, reason: str = "") -> Case:
    """Move a case forward along the loop 防范-发现-干预-帮扶-诊疗-回访 (stages may be skipped)."""
    if stage not in ADVANCE_TRANSITIONS:
        raise Invalid(_("Unknown or non-loop stage: %s") % stage)
    with transaction.atomic():
        case = _locked(case)
        _require_case_access(actor, case)
        _advance(actor, case, stage, reason)
    return case


def advance_case_if_behind(actor, case: Case, stage: str, *, reason: str = "") -> Case:
    """Advance to ``stage`` unless the case is already there or beyond (facts drive the loop)."""
    if not _is_behind(case, stage):
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
        with refused_as_conflict(_("The case is already closed.")):
            case.close()
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
            with refused_as_conflict(_("Only a closed case can be reopened.")):
                case.reopen()
            case.closed_at = None
            case.save()
            _enter_stage(case, actor, Stage.CLOSED, reason)
    except IntegrityError as exc:
        raise Conflict(
            _("This person already has another open case."), code="open_case_exists"
        ) from exc
    return case


def _set_risk(actor, case: Case, risk: str, reason: str) -> None:
    """Set the risk of a locked case; nothing is written when it is already that."""
    if case.risk == risk:
        return
    old = case.risk
    case.risk = risk
    case.save()
    publish(
        "case.risk_changed",
        case=case,
        actor=actor,
        data={"from": old, "to": risk, "reason": reason},
    )


def set_risk(actor, case: Case, risk: str, *, reason: str = "") -> Case:
    if risk not in RISK_ORDER:
        raise Invalid(_("Unknown risk level: %s") % risk)
    with transaction.atomic():
        case = _locked(case)
        _require_case_access(actor, case)
        _set_risk(actor, case, risk, reason)
    return case


def _set_next_step(actor, case: Case, *, next_step: str, due=None, owner=None) -> None:
    """Set the next step (and owner) of a locked case."""
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


def set_next_step(actor, case: Case, *, next_step: str, due=None, owner=None) -> Case:
    with transaction.atomic():
        case = _locked(case)
        _require_case_access(actor, case)
        _set_next_step(actor, case, next_step=next_step, due=due, owner=owner)
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
