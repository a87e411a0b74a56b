"""Staff pages of the prevention stage: flagged students with their deadlines (acknowledge,
done), campaigns with their counts and printable slips, outreach activities."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.errors import DomainError
from directory.access import is_administrator
from directory.models import Organisation, Region
from prevention import selectors, services
from prevention.models import ActivityKind, Scene, ScreeningGroup, TaskState


def staff_only(view):
    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not is_administrator(request.user) and not selectors.campaign_staff_org_ids(
            request.user
        ):
            raise PermissionDenied(_("This page is for another role."))
        return view(request, *args, **kwargs)

    return wrapped


@staff_only
def home(request, form_errors=None, form_values=None, status=200):
    """防范: flagged students first (deadline order), then campaigns and outreach."""
    now = timezone.now()
    tasks = selectors.visible_tasks(request.user).exclude(state=TaskState.DONE)
    campaigns = list(
        selectors.visible_campaigns(request.user).select_related("organisation__region")
    )
    orgs = Organisation.objects.filter(pk__in=selectors.campaign_staff_org_ids(request.user))
    context = {
        "now": now,
        "tasks": [
            {
                "task": t,
                "overdue": t.due_at <= now,
                "can_act": selectors.can_act_on_task(request.user, t),
            }
            for t in tasks
        ],
        "campaigns": list(zip(campaigns, selectors.campaign_figures(campaigns), strict=True)),
        "activities": selectors.visible_activities(request.user).select_related("region")[:50],
        "kinds": ActivityKind.choices,
        "scenes": Scene.choices,
        "organisations": orgs,
        "regions": Region.objects.all(),
        "form_errors": form_errors or {},
        "form_values": form_values or {},
    }
    return render(request, "prevention/home.html", context, status=status)


@staff_only
@require_POST
def task_action(request, pk, action):
    task = get_object_or_404(selectors.visible_tasks(request.user), pk=pk)
    try:
        if action == "acknowledge":
            services.acknowledge_task(request.user, task)
            messages.success(request, _("Task acknowledged."))
        elif action == "done":
            services.finish_task(request.user, task, note=request.POST.get("note", ""))
            messages.success(request, _("Task done."))
        else:
            raise Http404
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("prevention:home")


@staff_only
def slips(request, pk, group_pk):
    """Printable slips of one class: the code and where to type it."""
    group = get_object_or_404(
        ScreeningGroup.objects.select_related("campaign__organisation"),
        pk=group_pk,
        campaign__in=selectors.visible_campaigns(request.user),
        campaign_id=pk,
    )
    return render(
        request,
        "prevention/slips.html",
        {
            "group": group,
            "campaign": group.campaign,
            "slips": group.slips.filter(answered_at__isnull=True),
            "answer_url": request.build_absolute_uri("/screening/"),
        },
    )


@staff_only
@require_POST
def record_activity(request):
    values = request.POST
    region = Region.objects.filter(pk=values.get("region") or None).first()
    organisation = Organisation.objects.filter(pk=values.get("organisation") or None).first()
    held_on = parse_date(values.get("held_on") or "")
    errors = {}
    if region is None:
        errors["region"] = [_("Choose where it took place.")]
    if organisation is None:
        errors["organisation"] = [_("Choose your organisation.")]
    if held_on is None:
        errors["held_on"] = [_("A date such as 2026-05-20.")]
    reached = values.get("reached", "")
    reached = int(reached) if reached.isdigit() else -1
    if not errors:
        try:
            services.record_activity(
                request.user,
                kind=values.get("kind", ""),
                scene=values.get("scene", ""),
                title=values.get("title", ""),
                region=region,
                organisation=organisation,
                held_on=held_on,
                led_by=values.get("led_by", ""),
                reached=reached,
            )
        except DomainError as exc:
            if exc.status_code == 403:
                raise PermissionDenied(exc.message) from exc
            errors = exc.fields or {"title": [exc.message]}
    if errors:
        return home(request, form_errors=errors, form_values=values, status=400)
    messages.success(request, _("Activity recorded."))
    return redirect("prevention:home")
