from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from directory.access import is_administrator, is_responder, memberships, roles_of
from directory.models import OrganisationKind, Role


def _links(user) -> list[dict]:
    roles = roles_of(user)
    admin = is_administrator(user)
    links = []
    # A school's staff (its psychology teacher is its counsellor) work on screening (防范).
    in_school = set(
        memberships(user)
        .filter(organisation__kind=OrganisationKind.SCHOOL)
        .values_list("role", flat=True)
    )
    if in_school:
        links.append({"url": reverse("prevention:home"), "label": _("Prevention")})
        roles = set(
            memberships(user)
            .exclude(organisation__kind=OrganisationKind.SCHOOL)
            .values_list("role", flat=True)
        )
    if Role.OPERATOR in roles:
        links.append({"url": reverse("hotline:console"), "label": _("Hotline console")})
    if Role.COUNSELLOR in roles:
        links.append({"url": reverse("clinics:counsellor"), "label": _("Counselling inbox")})
    if Role.HOSPITAL_STAFF in roles:
        links.append({"url": reverse("clinics:hospital"), "label": _("Hospital transfers")})
    if is_responder(user):
        links.append({"url": reverse("responder:page"), "label": _("My dispatch tasks")})
    if Role.COORDINATOR in roles or admin:
        links.append({"url": reverse("escalation:coordinator"), "label": _("Coordination")})
    if roles & {Role.DECISION_MAKER, Role.COORDINATOR} or admin:
        links.append({"url": reverse("dashboard:home"), "label": _("One-screen view")})
    return links


@login_required
def home(request):
    """One role goes straight to its page; several roles choose."""
    links = _links(request.user)
    if len(links) == 1:
        return redirect(links[0]["url"])
    return render(request, "home.html", {"links": links})
