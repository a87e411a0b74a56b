"""Who may see which cases and people."""

import re

from django.contrib.auth import get_user_model
from django.contrib.postgres.search import TrigramSimilarity
from django.db import connection
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Greatest
from django.utils import timezone

from directory.access import (
    CALL_ROLES,
    CASE_ROLES,
    SUPERVISOR_ROLES,
    is_administrator,
    memberships,
    organisation_ids,
)
from directory.models import Membership, Organisation, OrganisationKind, Role
from hotline.conference_models import ConferenceParticipant
from hotline.models import (
    WAITING_STATUSES,
    Call,
    CallbackTask,
    CallRecording,
    CallStatus,
    Case,
    CaseAccess,
    Person,
    PersonPhone,
    Shift,
)

User = get_user_model()


def case_organisation_ids(user) -> set[int]:
    return organisation_ids(user, roles=CASE_ROLES)


def visible_cases(user):
    """Cases of the user's organisations (owned, or granted to the organisation) and cases
    granted to the user in person (break-glass), while the grant is live."""
    if is_administrator(user):
        return Case.objects.all()
    orgs = case_organisation_ids(user)
    if not orgs:
        return Case.objects.none()
    granted = (
        CaseAccess.objects.live()
        .filter(case=OuterRef("pk"), organisation__in=orgs)
        .filter(Q(user__isnull=True) | Q(user=user))
    )
    return Case.objects.filter(Q(owning_organisation__in=orgs) | Exists(granted))


def can_work_on_case(user, case: Case) -> bool:
    """Writes need an organisation that holds the case; a break-glass grant is a read only."""
    if is_administrator(user):
        return True
    return bool(case_organisation_ids(user) & case.audience_organisation_ids())


def eligible_workers(case: Case, organisation_ids=None):
    """People who may be given work on the case (follow-up assignee, owner): a case role
    (operator, counsellor, hospital staff, coordinator, expert) in an organisation that holds it,
    or in ``organisation_ids`` of those. Decision makers and responders never are."""
    held = case.audience_organisation_ids()
    if organisation_ids is not None:
        held &= set(organisation_ids)
    members = Membership.objects.active().filter(role__in=CASE_ROLES, organisation__in=held)
    return User.objects.filter(is_active=True, pk__in=members.values("user_id")).order_by(
        "username"
    )


def eligible_owners(case: Case):
    """A case's owner works on it for the owning organisation."""
    return eligible_workers(case, {case.owning_organisation_id})


def is_inside_owner(user, case: Case) -> bool:
    """Reads from inside the owning organisation are routine; all others go on the audit trail."""
    return case.owning_organisation_id in case_organisation_ids(user)


def visible_people(user):
    if is_administrator(user):
        return Person.objects.all()
    return Person.objects.filter(Exists(visible_cases(user).filter(person=OuterRef("pk"))))


def workable_people(user):
    """People the user may change (details, flags, merge): through a case their organisation
    holds. A break-glass grant to one person is a read only, as for the case itself."""
    if is_administrator(user):
        return Person.objects.all()
    orgs = case_organisation_ids(user)
    if not orgs:
        return Person.objects.none()
    org_grant = CaseAccess.objects.live().filter(
        case=OuterRef("pk"), organisation__in=orgs, user__isnull=True
    )
    held = Case.objects.filter(Q(owning_organisation__in=orgs) | Exists(org_grant))
    return Person.objects.filter(Exists(held.filter(person=OuterRef("pk"))))


def person_with_number(number):
    """The person a number names (first or further number), or None."""
    if not number:
        return None
    found = Person.objects.filter(phone=number).order_by("-pk").first()
    if found is None:
        extra = PersonPhone.objects.filter(number=number).select_related("person").first()
        found = extra.person if extra else None
    return found


MIN_PHONE_DIGITS = 4
SIMILARITY = 0.3  # pg_trgm's own default threshold for ``%``


def search_people(user, query: str):
    """People the user may see, found by name or alias (trigram similarity on PostgreSQL, else
    ``icontains``), by phone in any format (4+ digits match anywhere in a number, first or
    further) or by case number ("#12" or "12"). Merged-away records are left out."""
    query = (query or "").strip()
    people = visible_people(user).filter(merged_into__isnull=True)
    if not query:
        return people.none()
    match = Q(name__icontains=query) | Q(alias__icontains=query)
    postgres = connection.vendor == "postgresql"
    digits = re.sub(r"\D", "", query)
    if len(digits) >= MIN_PHONE_DIGITS:
        # "+86 138-0000-0002", "13800000002" and "0572 2251885" all meet E.164's digits.
        fragments = {digits, digits.removeprefix("0"), digits.removeprefix("86")} - {""}
        for fragment in fragments:
            match |= Q(phone__contains=fragment) | Exists(
                PersonPhone.objects.filter(person=OuterRef("pk"), number__contains=fragment)
            )
    # A case number: "#12", or digits with no leading zero (a number's fragment may have one).
    number = re.fullmatch(r"#\s*(\d{1,9})|([1-9]\d{0,8})", query)
    if number:
        case_id = int(number.group(1) or number.group(2))
        match |= Exists(Case.objects.filter(person=OuterRef("pk"), pk=case_id))
    if not postgres:
        return people.filter(match).order_by("-id")
    similarity = Greatest(TrigramSimilarity("name", query), TrigramSimilarity("alias", query))
    return (
        people.annotate(similarity=similarity)
        .filter(match | Q(similarity__gt=SIMILARITY))
        .order_by("-similarity", "-id")
    )


# --- calls (热线来电) -------------------------------------------------------------------------


def operator_hotline_ids(user) -> set[int]:
    """Hotline centres where the user answers calls."""
    if not user or not user.is_authenticated:
        return set()
    return set(
        memberships(user)
        .filter(role=Role.OPERATOR, organisation__kind=OrganisationKind.HOTLINE_CENTRE)
        .values_list("organisation_id", flat=True)
    )


def reader_hotline_ids(user) -> set[int]:
    """Hotline centres whose calls the user may read: operators, coordinators, administrators."""
    if is_administrator(user):
        return set(
            Organisation.objects.filter(kind=OrganisationKind.HOTLINE_CENTRE).values_list(
                "pk", flat=True
            )
        )
    return set(
        memberships(user)
        .filter(
            role__in=CALL_ROLES,
            organisation__kind=OrganisationKind.HOTLINE_CENTRE,
        )
        .values_list("organisation_id", flat=True)
    )


def at_centres(hotline_ids) -> Q:
    """Calls in the queues of these centres: their own, less those overflowed to a partner, plus
    those overflowed to them (``Call.queue_centre_id``)."""
    return Q(answering_centre__in=hotline_ids) | Q(
        answering_centre__isnull=True, hotline__in=hotline_ids
    )


def supervisor_hotline_ids(user) -> set[int]:
    """Hotline centres whose live calls the user may supervise (督导): their coordinators only;
    an administrator runs the system, not the calls."""
    if not user or not user.is_authenticated:
        return set()
    return set(
        memberships(user)
        .filter(role__in=SUPERVISOR_ROLES, organisation__kind=OrganisationKind.HOTLINE_CENTRE)
        .values_list("organisation_id", flat=True)
    )


def can_supervise(user, call: Call) -> bool:
    return call.hotline_id in supervisor_hotline_ids(user)


def live_calls(user):
    """The calls the user may supervise now: talking or in wrap-up, oldest answered first."""
    return (
        Call.objects.filter(
            hotline__in=supervisor_hotline_ids(user),
            status__in=[CallStatus.IN_PROGRESS, CallStatus.WRAP_UP],
        )
        .select_related("operator", "case", "person")
        .order_by("answered_at", "id")
    )


def wrap_up_today(user) -> list[dict]:
    """话后处理时长: per operator of the user's supervised hotlines, today's finished wrap-ups
    (count, average seconds) and the one running now, if any."""
    start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    calls = Call.objects.filter(
        hotline__in=supervisor_hotline_ids(user), wrap_up_started_at__gte=start
    ).select_related("operator")
    rows: dict[int, dict] = {}
    for call in calls.order_by("wrap_up_started_at"):
        if call.operator_id is None:
            continue
        row = rows.setdefault(
            call.operator_id,
            {"operator": call.operator, "done": 0, "total": 0, "current_since": None},
        )
        if call.wrap_up_ended_at:
            row["done"] += 1
            row["total"] += call.wrap_up_seconds or 0
        elif call.status == CallStatus.WRAP_UP:
            row["current_since"] = call.wrap_up_started_at
    for row in rows.values():
        row["average"] = round(row["total"] / row["done"]) if row["done"] else None
    return sorted(rows.values(), key=lambda r: str(r["operator"]))


def visible_calls(user):
    """Calls of the user's centres, and calls overflowed to them (溢出来电) or from them. The
    operator a contact is offered to reads it (a text's transcript on the offer card) as an
    operator of the queue's centre: offers go to no one else (``presence.offer_waiting``)."""
    ids = reader_hotline_ids(user)
    return Call.objects.filter(Q(hotline__in=ids) | Q(answering_centre__in=ids))


def visible_callbacks(user):
    """Call-backs of the hotline centres whose calls the user may read."""
    return CallbackTask.objects.filter(abandoned_call__hotline__in=reader_hotline_ids(user))


def waiting_calls(hotline_id: int):
    """The queue, first to answer first: by virtual arrival time (see ``hotline.queue``)."""
    return (
        Call.objects.filter(at_centres([hotline_id]), status__in=WAITING_STATUSES)
        .select_related("hotline")
        .order_by("rank_at", "id")
    )


def queue_length(hotline_id: int) -> int:
    return Call.objects.filter(at_centres([hotline_id]), status__in=WAITING_STATUSES).count()


def on_duty_now(hotline_id: int, now=None):
    now = now or timezone.now()
    return (
        Shift.objects.filter(hotline_id=hotline_id, starts_at__lte=now, ends_at__gt=now)
        .select_related("user", "user__hotline_presence")
        .order_by("starts_at", "user__username")
    )


def previous_calls(call: Call, limit: int = 20):
    """Earlier calls of the same person (or, unidentified, from the same number), newest first."""
    if call.person_id:
        qs = Call.objects.filter(person_id=call.person_id)
    elif call.from_number:
        qs = Call.objects.filter(from_number=call.from_number)
    else:
        return Call.objects.none()
    return (
        qs.exclude(pk=call.pk)
        .select_related("triage", "operator")
        .order_by("-queued_at", "-id")[:limit]
    )


def can_see_case_reads(user, case: Case) -> bool:
    """Who read a case (查阅记录): the owning organisation's coordinators and administrators."""
    if is_administrator(user):
        return True
    return case.owning_organisation_id in organisation_ids(user, roles=[Role.COORDINATOR])


def playable_recordings(user):
    """Call recordings (通话录音) a user may listen to: those of the cases they may read, while
    the file is kept."""
    return CallRecording.objects.filter(
        call__case__in=visible_cases(user), fetched_at__isnull=False, deleted_at__isnull=True
    )


def conference_calls(user):
    """Calls whose conference the user may act on: those of their hotline centres, and a call
    transferred to them (offered, joined or handed over), whatever their organisation."""
    offered = ConferenceParticipant.objects.filter(user=user).values("call_id")
    return Call.objects.filter(Q(hotline__in=reader_hotline_ids(user)) | Q(pk__in=offered))


def overflow_board(user, since) -> dict:
    """Overflow calls (溢出来电) since ``since`` for a coordinator's board: those the user's
    centres sent to a partner and those they took for one, newest first."""
    ids = reader_hotline_ids(user)
    if not ids:
        return {"shown": False, "sent": [], "received": []}
    calls = (
        Call.objects.filter(answering_centre__isnull=False, overflowed_at__gte=since)
        .select_related("hotline", "answering_centre", "operator", "triage")
        .order_by("-overflowed_at", "-id")
    )
    return {
        "shown": True,
        "sent": list(calls.filter(hotline__in=ids).exclude(answering_centre__in=ids)[:50]),
        "received": list(calls.filter(answering_centre__in=ids)[:50]),
    }
