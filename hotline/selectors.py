"""Who may see which cases and people."""

from django.db.models import Exists, OuterRef, Q

from directory.access import is_administrator, organisation_ids
from directory.models import Role
from hotline.models import Case, CaseAccess, Person

# Roles whose members work on case files. Responders see only their dispatch leg and decision
# makers only counts, so neither reads a case.
CASE_ROLES = (
    Role.OPERATOR,
    Role.COUNSELLOR,
    Role.HOSPITAL_STAFF,
    Role.COORDINATOR,
    Role.EXPERT,
)


def case_organisation_ids(user) -> set[int]:
    return organisation_ids(user, roles=CASE_ROLES)


def visible_cases(user):
    if is_administrator(user):
        return Case.objects.all()
    orgs = case_organisation_ids(user)
    if not orgs:
        return Case.objects.none()
    granted = CaseAccess.objects.filter(
        case=OuterRef("pk"), organisation__in=orgs, revoked_at__isnull=True
    )
    return Case.objects.filter(Q(owning_organisation__in=orgs) | Exists(granted))


def can_work_on_case(user, case: Case) -> bool:
    if is_administrator(user):
        return True
    return bool(case_organisation_ids(user) & case.audience_organisation_ids())


def is_inside_owner(user, case: Case) -> bool:
    """Reads from inside the owning organisation are routine; all others go on the audit trail."""
    return case.owning_organisation_id in case_organisation_ids(user)


def visible_people(user):
    if is_administrator(user):
        return Person.objects.all()
    return Person.objects.filter(Exists(visible_cases(user).filter(person=OuterRef("pk"))))
