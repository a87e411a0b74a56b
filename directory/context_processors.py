from directory.access import answers_dispatch, memberships
from directory.models import OrganisationKind


def staff(request):
    """The signed-in user's memberships, for the page shell's navigation."""
    user = getattr(request, "user", None)
    if not user or not user.is_authenticated:
        return {
            "staff_roles": set(),
            "staff_memberships": [],
            "staff_responder": False,
            "staff_school": False,
        }
    rows = list(memberships(user))
    # A school's staff (its psychology teacher is its counsellor) work on screening (防范), not
    # in the hotline's pages: their roles there give the prevention link only (as on /).
    school = [m for m in rows if m.organisation.kind == OrganisationKind.SCHOOL]
    return {
        "staff_roles": {m.role for m in rows if m not in school},
        "staff_school": bool(school),
        "staff_memberships": rows,
        "staff_responder": any(answers_dispatch(m) for m in rows),
    }
