from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from directory.access import memberships
from escalation import selectors
from escalation.models import Dispatch


@login_required
def coordinator(request):
    """协调员预警看板: open alerts with a live countdown to their next escalation step."""
    if not selectors.is_coordinator(request.user):
        raise PermissionDenied("This page is for coordinators.")
    alerts = list(selectors.open_alerts(request.user)[:200])
    dispatches = list(
        selectors.visible_dispatches(request.user)
        .filter(status=Dispatch.Status.OPEN)
        .select_related("case__person")
        .prefetch_related("legs__organisation")
        .order_by("-id")[:50]
    )
    return render(
        request,
        "escalation/board.html",
        {
            "page_title": _("Coordination"),
            "memberships": [m for m in memberships(request.user) if m.role == "coordinator"],
            "alerts": alerts,
            "dispatches": dispatches,
            "on_duty": selectors.on_duty_coordinators(),
        },
    )
