"""Server-rendered pages: counsellor inbox, case page, hospital transfers, follow-ups due.

Small forms post to action views that call the services and come back with a message.
"""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from clinics import selectors, services
from clinics.models import FollowUpAttempt, SessionOutcome
from core.errors import DomainError
from core.http import same_site_next
from directory.access import is_administrator, memberships, organisation_ids
from directory.models import Role
from hotline.selectors import visible_cases
from hotline.services import record_case_read
from realtime.selectors import case_timeline
from referrals import services as referral_services
from referrals.models import (
    ACTIVE_STATES,
    Appointment,
    CounsellorSlot,
    PreAssessment,
    Referral,
    ReferralKind,
)
from referrals.selectors import free_slots, visible_referrals

CARE_PAGE_ROLES = (Role.COUNSELLOR, Role.HOSPITAL_STAFF, Role.COORDINATOR, Role.OPERATOR)


def for_roles(*roles):
    def decorate(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not is_administrator(request.user) and not organisation_ids(request.user, roles):
                raise PermissionDenied(_("This page is for another role."))
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


def _context(request, title, **extra):
    return {"page_title": title, "memberships": list(memberships(request.user)), **extra}


@for_roles(Role.COUNSELLOR, Role.COORDINATOR)
def counsellor(request):
    """咨询师收件箱: referrals pushed to the user's centre, with their deadlines."""
    now = timezone.now()
    orgs = organisation_ids(request.user, (Role.COUNSELLOR, Role.COORDINATOR))
    referrals = visible_referrals(request.user).filter(state__in=ACTIVE_STATES)
    if orgs or not is_administrator(request.user):
        referrals = referrals.filter(receiver__in=orgs)
    referrals = referrals.filter(kind=ReferralKind.COUNSELLING).order_by("ack_due_at")
    appointments = (
        Appointment.objects.filter(organisation__in=orgs, status="booked")
        .select_related("slot__counsellor", "case__person")
        .order_by("slot__starts_at")
    )
    slots = [s for org in orgs for s in free_slots(org, now)[:20]]
    return render(
        request,
        "clinics/counsellor.html",
        _context(
            request,
            gettext_lazy("Counselling inbox"),
            referrals=list(referrals),
            appointments=list(appointments),
            slots=slots,
            now=now,
            recommendations=PreAssessment.Recommendation.choices,
            outcomes=SessionOutcome.choices,
            risks=Referral._meta.get_field("urgency").choices,
        ),
    )


@for_roles(Role.HOSPITAL_STAFF, Role.COORDINATOR)
def hospital(request):
    """医院转诊: incoming green-channel transfers, admissions and discharges."""
    orgs = organisation_ids(request.user, (Role.HOSPITAL_STAFF, Role.COORDINATOR))
    transfers = (
        visible_referrals(request.user)
        .filter(receiver__in=orgs, state__in=ACTIVE_STATES)
        .select_related("green_channel_booking__slot")
        .order_by("ack_due_at")
    )
    admissions = (
        selectors.visible_admissions(request.user).filter(state="admitted").order_by("admitted_at")
    )
    return render(
        request,
        "clinics/hospital.html",
        _context(
            request,
            gettext_lazy("Hospital transfers"),
            transfers=list(transfers),
            admissions=list(admissions),
            now=timezone.now(),
        ),
    )


@for_roles(*CARE_PAGE_ROLES)
def follow_ups(request):
    """回访: follow-ups due for the user's organisations, overdue first."""
    now = timezone.now()
    due = (
        selectors.visible_follow_ups(request.user)
        .filter(state="scheduled")
        .prefetch_related("attempts")
        .order_by("due_at")
    )
    return render(
        request,
        "clinics/follow_ups.html",
        _context(
            request,
            gettext_lazy("Follow-ups due"),
            follow_ups=list(due[:200]),
            now=now,
            outcomes=FollowUpAttempt.Outcome.choices,
        ),
    )


@for_roles(*CARE_PAGE_ROLES)
def case_page(request, pk: int):
    case = get_object_or_404(
        visible_cases(request.user).select_related("person", "owning_organisation"), pk=pk
    )
    record_case_read(request.user, case, what="case_page")
    return render(
        request,
        "clinics/case.html",
        _context(
            request,
            _("Case #%(id)s") % {"id": case.pk},
            case=case,
            referrals=list(visible_referrals(request.user).filter(case=case).order_by("id")),
            appointments=list(case.appointments.select_related("slot__counsellor")),
            follow_ups=list(case.follow_ups.all()),
            admissions=list(case.admissions.all()),
            timeline=list(case_timeline(case)),
        ),
    )


def _back(request, fallback: str):
    return redirect(same_site_next(request, fallback))


def _run(request, action, *, success: str, fallback: str):
    """Run one service call for a form post; its refusal becomes a message on the page."""
    try:
        action()
        messages.success(request, success)
    except DomainError as exc:
        messages.error(request, exc.message)
    return _back(request, fallback)


REFERRAL_ACTIONS = {
    "acknowledge": lambda u, r, p: referral_services.acknowledge(u, r),
    "decline": lambda u, r, p: referral_services.decline(u, r, reason=p.get("reason", "")),
    "pre-assess": lambda u, r, p: referral_services.pre_assess(
        u,
        r,
        risk=p.get("risk", ""),
        presenting_problem=p.get("presenting_problem", ""),
        recommendation=p.get("recommendation", ""),
        notes=p.get("notes", ""),
    ),
    "schedule": lambda u, r, p: referral_services.schedule(
        u, r, slot=CounsellorSlot.objects.filter(pk=p.get("slot") or 0).first()
    ),
    "no-show": lambda u, r, p: referral_services.record_no_show(u, r),
    "complete": lambda u, r, p: referral_services.complete(u, r, outcome=p.get("outcome", "")),
    "admit": lambda u, r, p: services.admit(u, r, ward=p.get("ward", ""), bed=p.get("bed", "")),
}


@require_POST
@for_roles(*CARE_PAGE_ROLES)
def referral_action(request, pk: int, action: str):
    if action not in REFERRAL_ACTIONS:
        raise Http404
    referral = get_object_or_404(visible_referrals(request.user), pk=pk)
    return _run(
        request,
        lambda: REFERRAL_ACTIONS[action](request.user, referral, request.POST),
        success=_("Done."),
        fallback="clinics:hospital"
        if referral.kind != ReferralKind.COUNSELLING
        else "clinics:counsellor",
    )


@require_POST
@for_roles(Role.COUNSELLOR, Role.COORDINATOR)
def session_action(request, pk: int):
    orgs = organisation_ids(request.user, (Role.COUNSELLOR, Role.COORDINATOR))
    qs = (
        Appointment.objects.all()
        if is_administrator(request.user)
        else Appointment.objects.filter(organisation__in=orgs)
    )
    appointment = get_object_or_404(qs, pk=pk)
    return _run(
        request,
        lambda: services.record_session(
            request.user,
            appointment,
            notes=request.POST.get("notes", ""),
            outcome=request.POST.get("outcome", ""),
        ),
        success=_("Session recorded."),
        fallback="clinics:counsellor",
    )


@require_POST
@for_roles(Role.HOSPITAL_STAFF, Role.COORDINATOR)
def discharge_action(request, pk: int):
    admission = get_object_or_404(selectors.visible_admissions(request.user), pk=pk)
    return _run(
        request,
        lambda: services.discharge(
            request.user,
            admission,
            summary=request.POST.get("summary", ""),
            follow_up_plan=request.POST.get("follow_up_plan", ""),
        ),
        success=_("Discharged; follow-ups scheduled."),
        fallback="clinics:hospital",
    )


@require_POST
@for_roles(*CARE_PAGE_ROLES)
def attempt_action(request, pk: int):
    follow_up = get_object_or_404(selectors.visible_follow_ups(request.user), pk=pk)
    return _run(
        request,
        lambda: services.record_attempt(
            request.user,
            follow_up,
            outcome=request.POST.get("outcome", ""),
            notes=request.POST.get("notes", ""),
        ),
        success=_("Attempt recorded."),
        fallback="clinics:follow_ups",
    )
