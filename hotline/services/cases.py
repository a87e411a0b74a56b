"""The case file (一人一例): people, the one open case, its loop, risk, next step and grants.

Every public function takes the acting user, checks permission, changes state atomically and
publishes. The underscore helpers take a case already locked and checked, so a service that
does several things to one case (triage) locks it and checks the actor once.
"""

from contextlib import contextmanager

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Conflict, Forbidden, Invalid, refused_as_conflict
from directory.access import has_role, is_administrator
from directory.models import Organisation, Region, Role
from hotline import caseplan
from hotline.caseplan import refresh_next_step
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
    PersonPhone,
    Risk,
    Stage,
    StageVisit,
    risk_at_least,
)
from hotline.selectors import (
    can_work_on_case,
    case_organisation_ids,
    eligible_owners,
    visible_people,
    workable_people,
)
from hotline.services.reads import record_read
from realtime.publish import publish

# The actor of a system action: a verified Twilio webhook has no person behind it. Services that
# accept it skip the permission check (the edge has already authenticated the request by its
# signature) and publish with no actor. Never pass it from an edge with a signed-in user.
SYSTEM = None

PERSON_FIELDS = (
    "name",
    "alias",
    "language",
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


def _phone_taken(field: str = "phone") -> Invalid:
    message = _("A person with this phone number is already on file.")
    return Invalid(message, code=PHONE_TAKEN, fields={field: [message]})


def _phones_taken(person: Person, numbers) -> Invalid | None:
    """A number names one person: refused if it is another person's, first or further."""
    numbers = [n for n in numbers if n]
    if not numbers:
        return None
    others_first = Person.objects.exclude(pk=person.pk).filter(phone__in=numbers)
    others_more = PersonPhone.objects.exclude(person=person).filter(number__in=numbers)
    if others_first.exists() or others_more.exists():
        return _phone_taken("phones")
    return None


def _set_phones(person: Person, phones) -> None:
    """The further numbers, replaced as a whole (the first stays ``Person.phone``)."""
    numbers = []
    for number in phones:
        if number and number != person.phone and number not in numbers:
            numbers.append(number)
    taken = _phones_taken(person, numbers)
    if taken:
        raise taken
    person.phones.exclude(number__in=numbers).delete()
    kept = {str(n) for n in person.phones.values_list("number", flat=True)}
    for number in numbers:
        if str(number) not in kept:
            PersonPhone.objects.create(person=person, number=number)


def _check_first_phone(person: Person) -> None:
    if (
        person.phone
        and PersonPhone.objects.exclude(person_id=person.pk).filter(number=person.phone).exists()
    ):
        raise _phone_taken()


def create_person(
    actor, *, home_region: Region | None = None, guardians=(), phones=(), **fields
) -> Person:
    """Register a person at risk (may be anonymous); guardians are ``{name, relation, phone}``,
    ``phones`` further numbers beside ``phone``."""
    _require_case_role(actor)
    unknown = set(fields) - set(PERSON_FIELDS)
    if unknown:
        raise Invalid(_("Unknown person fields: %s") % ", ".join(sorted(unknown)))
    with _phone_clash_as_field_error(), transaction.atomic():
        person = Person(home_region=home_region, **fields)
        person.full_clean()
        _check_first_phone(person)
        person.save()
        _set_phones(person, phones)
        for g in guardians:
            contact = GuardianContact(person=person, **g)
            contact.full_clean()
            contact.save()
    return person


def update_person(actor, person: Person, *, guardians=None, phones=None, **fields) -> Person:
    """Change what is known of a person; ``phones`` (further numbers) and ``guardians`` are
    replaced as a whole when given. A name or alias makes the person no longer anonymous."""
    if not workable_people(actor).filter(pk=person.pk).exists():  # a break-glass read only
        raise Forbidden(_("You may not change this person's record."))
    with _phone_clash_as_field_error(), transaction.atomic():
        person = Person.objects.select_for_update().get(pk=person.pk)
        for name, value in fields.items():
            if name not in (*PERSON_FIELDS, "home_region"):
                raise Invalid(_("Unknown person field: %s") % name)
            setattr(person, name, value)
        if "is_anonymous" not in fields and (fields.get("name") or fields.get("alias")):
            person.is_anonymous = False
        person.full_clean()
        _check_first_phone(person)
        person.save()
        if phones is not None:
            _set_phones(person, phones)
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
    if owner is not None and owning_organisation.pk not in case_organisation_ids(owner):
        raise Invalid(
            _("The owner must be a case worker of %(org)s.") % {"org": owning_organisation.name},
            fields={"owner": [_("Choose a case worker of the owning organisation.")]},
        )
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
    case = Case(
        person=person,
        owning_organisation=owning_organisation,
        owner=owner,
        risk=risk,
        summary=summary,
        stage=stage,
        stage_entered_at=now,
        opened_at=now,
    )
    # A new case has no open item: its first step is "decide: close or plan", written with the
    # row itself (it goes out with ``case.opened``).
    for name, value in caseplan.compute(case, now=now, items=[]).items():
        setattr(case, name, value)
    case.save()
    StageVisit.objects.create(case=case, stage=stage, entered_at=now)
    publish(
        "case.opened",
        case=case,
        actor=actor,
        data=case_opened_data(person, case),
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


def _is_owning_coordinator(actor, case: Case) -> bool:
    return is_administrator(actor) or has_role(
        actor, Role.COORDINATOR, organisation=case.owning_organisation
    )


def _may_close(actor, case: Case) -> bool:
    """Who closes the loop: a coordinator of the owning organisation (督导 sign-off) always;
    the owner only below high risk. A high-risk case is closed after a supervisor's review, as
    crisis lines do, so no self-assignment can unlock it."""
    if _is_owning_coordinator(actor, case):
        return True
    return case.owner_id == actor.pk and not risk_at_least(case.risk, Risk.HIGH)


def close_case(actor, case: Case, *, reason: str) -> Case:
    """Close the loop (闭环): by a coordinator, the owner or an administrator, nothing left open."""
    if not reason.strip():
        raise Invalid(_("Say why the case is being closed."))
    with transaction.atomic():
        case = _locked(case)
        _require_case_access(actor, case)
        if not _may_close(actor, case):
            raise Forbidden(
                _("A high-risk case is closed by a coordinator of %(org)s.")
                % {"org": case.owning_organisation.name}
                if risk_at_least(case.risk, Risk.HIGH)
                else _("Only a coordinator or the case owner may close a case.")
            )
        _close(actor, case, reason)
    return case


def _close(actor, case: Case, reason: str) -> None:
    """The close itself, on a locked case whose closer was checked (``close_case``) or that
    the system closes by rule (``callbacks.sweep``)."""
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
    refresh_next_step(case, actor)


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
            refresh_next_step(case, actor)
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


def _check_owner(case: Case, owner) -> None:
    if not eligible_owners(case).filter(pk=owner.pk).exists():
        raise Invalid(
            _("The owner must be a case worker of %(org)s.")
            % {"org": case.owning_organisation.name},
            fields={"owner": [_("Choose a case worker of the owning organisation.")]},
        )


def _set_next_step(
    actor, case: Case, *, next_step: str, due=None, owner=None, owner_by_workflow=False
) -> None:
    """Set the next step (and owner) of a locked case by hand; it stands until the case's work
    changes (``hotline.caseplan``), and without a due time is due in ``CASE_IDLE_HOURS``.

    The owner is changed by a coordinator of the owning organisation (or an administrator), or
    by a workflow step that hands the case back (``owner_by_workflow``); never by someone
    naming themselves. Either way the owner is a case worker of the owning organisation."""
    if owner is not None and owner.pk != case.owner_id:
        by_rule = owner_by_workflow or actor is SYSTEM
        if not by_rule and not _is_owning_coordinator(actor, case):
            raise Forbidden(
                _("Only a coordinator of %(org)s may assign the case owner.")
                % {"org": case.owning_organisation.name}
            )
        _check_owner(case, owner)
        case.owner = owner
        case.save(update_fields=["owner"])
    refresh_next_step(case, actor, manual=(next_step, due))


def set_next_step(
    actor, case: Case, *, next_step: str, due=None, owner=None, owner_by_workflow=False
) -> Case:
    with transaction.atomic():
        case = _locked(case)
        _require_case_access(actor, case)
        _set_next_step(
            actor,
            case,
            next_step=next_step,
            due=due,
            owner=owner,
            owner_by_workflow=owner_by_workflow,
        )
    return case


def grant_access(
    case: Case,
    organisation: Organisation,
    *,
    reason: str,
    granted_by=None,
    note: str = "",
    user=None,
    ends_at=None,
) -> CaseAccess:
    """Open a case to another organisation (called by referrals, dispatch, break-glass), or to
    one person of it (``user``: break-glass), until ``ends_at`` if given. Granting again what is
    still live renews it: a new dispatch to the same centre cancels the last one's end."""
    grant, created = CaseAccess.objects.get_or_create(
        case=case,
        organisation=organisation,
        reason=reason,
        user=user,
        revoked_at=None,
        defaults={"granted_by": granted_by, "note": note, "ends_at": ends_at},
    )
    if not created:
        # Always an UPDATE: it waits for a dispatch closing at this moment (which locks the
        # grant before looking for other open legs), so a renewal is never overwritten.
        CaseAccess.objects.filter(pk=grant.pk).update(ends_at=ends_at)
        grant.ends_at = ends_at
    if created and user is None:
        publish(
            "case.access_granted",
            case=case,
            actor=granted_by,
            data={"organisation": organisation.pk, "name": organisation.name, "reason": reason},
        )
    return grant


def end_access(case: Case, organisation_id: int, *, reason: str, at) -> int:
    """End an organisation's grants of one purpose at ``at`` (now: at once, later: a grace
    period). Recorded as ``revoked_at`` when the time comes (here or by ``end_lapsed_grants``)."""
    now = timezone.now()
    live = CaseAccess.objects.filter(
        case=case, organisation_id=organisation_id, reason=reason, user__isnull=True
    ).live(now)
    if at <= now:
        return live.update(revoked_at=at, ends_at=at)
    return live.update(ends_at=at)


def end_lapsed_grants(now) -> int:
    """Record the end of every grant past its ``ends_at`` (run by the worker's housekeeping)."""
    return CaseAccess.objects.filter(revoked_at__isnull=True, ends_at__lte=now).update(
        revoked_at=F("ends_at")
    )


def record_case_read(user, case: Case, *, what: str = "case") -> None:
    """Put a read of one case on the audit trail (every read, not only outsiders')."""
    record_read(user, what=what, case_ids=[case.pk])
