"""The role-aware landing pages share one shape: who you are, and the open cases you may see."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from directory.access import is_administrator, memberships


def role_page(roles: tuple[str, ...], title, template: str = "landing.html", *, show_cases=True):
    """A view for the members of ``roles`` (administrators too); everyone else gets 403."""

    @login_required
    def view(request, **context):
        mine = [m for m in memberships(request.user) if m.role in roles]
        if not mine and not is_administrator(request.user):
            raise PermissionDenied("This page is for another role.")
        cases = None
        if show_cases:
            from hotline.selectors import visible_cases

            cases = list(
                visible_cases(request.user)
                .open()
                .select_related("person", "owning_organisation")
                .order_by("-id")[:100]
            )
        return render(
            request,
            template,
            {"page_title": title, "memberships": mine, "cases": cases, **context},
        )

    return view
