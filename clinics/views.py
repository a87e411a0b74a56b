"""Server-rendered pages: counsellor inbox, case page, hospital transfers, follow-ups due.

Small forms post to action views that call the services and come back with a message.
"""

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from clinics import selectors, services, timeline
from clinics.models import (
    AssistancePlan,
    FollowUpAttempt,
    MeasureKind,
    PlanMeasure,
    SessionOutcome,
)
from core.errors import DomainError
from core.http import same_site_next
from directory.access import is_administrator, memberships, organisation_ids
from directory.accounts import accounts_verified, has_second_factor
from directory.models import Organisation, OrganisationKind, Role
from hotline.models import Case
from hotline.selectors import (
    can_see_case_reads,
    can_work_on_case,
    case_organisation_ids,
    eligible_owners,
    eligible_workers,
    playable_recordings,
    visible_cases,
)
from hotline.services import may_merge, record_case_read, record_read, set_next_step
from realtime.audit import reads_of_case
from realtime.selectors import case_timeline
from referrals import services as referral_services
from referrals.models import (
    ACTIVE_STATES,
    Appointment,
    CounsellorSlot,
    HospitalService,
    HospitalSlot,
    PreAssessment,
    Referral,
    ReferralKind,
)
from referrals.selectors import (
    free_hospital_slots,
    free_slots,
    green_channel_hospitals,
    visible_pre_assessments,
    visible_referrals,
)

User = get_user_model()

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
    referrals = (
        referrals.filter(kind=ReferralKind.COUNSELLING)
        .select_related("pre_assessment")
        .prefetch_related("onward__green_channel_booking__slot", "onward__receiver")
        .order_by("ack_due_at")
    )
    appointments = (
        Appointment.objects.filter(organisation__in=orgs, status="booked")
        .select_related("slot__counsellor", "case__person")
        .order_by("slot__starts_at")
    )
    slots = [s for org in orgs for s in free_slots(org, now)[:20]]
    referrals, appointments = list(referrals), list(appointments)
    # Each booked session shows its course: the sessions so far on the same referral.
    courses = selectors.course_sessions({a.referral_id for a in appointments if a.referral_id})
    for a in appointments:
        a.course = courses.get(a.referral_id, [])
    record_read(request.user, what="page.counsellor", case_ids=_case_ids(referrals, appointments))
    return render(
        request,
        "clinics/counsellor.html",
        _context(
            request,
            gettext_lazy("Counselling inbox"),
            referrals=referrals,
            appointments=appointments,
            slots=slots,
            now=now,
            recommendations=PreAssessment.Recommendation.choices,
            outcomes=SessionOutcome.choices,
            risks=Referral._meta.get_field("urgency").choices,
            hospitals=list(green_channel_hospitals()),
            services=HospitalService.choices,
            hospital_slots=free_hospital_slots(now),
        ),
    )


@for_roles(Role.HOSPITAL_STAFF, Role.COORDINATOR)
def hospital(request):
    """医院转诊: incoming green-channel transfers, admissions and discharges."""
    orgs = organisation_ids(request.user, (Role.HOSPITAL_STAFF, Role.COORDINATOR))
    transfers = (
        visible_referrals(request.user)
        .filter(receiver__in=orgs, state__in=ACTIVE_STATES)
        .select_related("green_channel_booking__slot", "sent_by")
        .order_by("ack_due_at")
    )
    admissions = (
        selectors.visible_admissions(request.user).filter(state="admitted").order_by("admitted_at")
    )
    transfers, admissions = list(transfers), list(admissions)
    # The assessment each transfer carries (its parent's): what the nurse needs before accepting.
    carried = {
        a.referral_id: a
        for a in visible_pre_assessments(request.user).filter(
            referral__in=[t.parent_id for t in transfers if t.parent_id]
        )
    }
    for t in transfers:
        t.carried_assessment = carried.get(t.parent_id)
    record_read(request.user, what="page.hospital", case_ids=_case_ids(transfers, admissions))
    return render(
        request,
        "clinics/hospital.html",
        _context(
            request,
            gettext_lazy("Hospital transfers"),
            transfers=transfers,
            admissions=admissions,
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
    due = list(due[:200])
    record_read(request.user, what="page.follow_ups", case_ids=_case_ids(due))
    return render(
        request,
        "clinics/follow_ups.html",
        _context(
            request,
            gettext_lazy("Follow-ups due"),
            follow_ups=due,
            now=now,
            outcomes=FollowUpAttempt.Outcome.choices,
        ),
    )


def _case_ids(*rows) -> list[int]:
    return [r.case_id for group in rows for r in group]


@for_roles(*CARE_PAGE_ROLES)
def case_page(request, pk: int):
    case = get_object_or_404(
        visible_cases(request.user).select_related("person", "owning_organisation"), pk=pk
    )
    record_case_read(request.user, case, what="case_page")
    referrals = list(
        visible_referrals(request.user)
        .filter(case=case)
        .select_related("sent_by", "acknowledged_by")
        .order_by("id")
    )
    assessments = list(
        visible_pre_assessments(request.user)
        .filter(referral__case=case)
        .select_related("assessed_by", "referral")
        .order_by("assessed_at")
    )
    appointments = list(case.appointments.select_related("slot__counsellor"))
    follow_ups = list(case.follow_ups.select_related("assignee", "organisation"))
    admissions = list(case.admissions.select_related("admitted_by", "hospital"))
    entries = timeline.entries(
        case_timeline(case, request.user), referrals=referrals, assessments=assessments
    )
    kind = request.GET.get("kind", "")
    if kind in timeline.KINDS:
        entries = [e for e in entries if e.kind == kind]
    else:
        kind = ""
    return render(
        request,
        "clinics/case.html",
        _context(
            request,
            _("Case #%(id)s") % {"id": case.pk},
            case=case,
            referrals=referrals,
            assessments=assessments,
            appointments=appointments,
            follow_ups=follow_ups,
            admissions=admissions,
            people=_people_involved(case, referrals, appointments, follow_ups, admissions),
            timeline=entries,
            kinds=timeline.kind_choices(),
            kind=kind,
            plans=list(
                case.assistance_plans.select_related("care_group")
                .prefetch_related("measures__owner")
                .order_by("created_at")
            ),
            care_groups=list(_care_groups()),
            measure_kinds=MeasureKind.choices,
            reads=list(reads_of_case(case.pk)) if can_see_case_reads(request.user, case) else None,
            owners=list(eligible_owners(case)),
            assignees=list(eligible_workers(case, case_organisation_ids(request.user))),
            may_work=can_work_on_case(request.user, case),
            may_assign_owner=is_administrator(request.user)
            or case.owning_organisation_id in organisation_ids(request.user, (Role.COORDINATOR,)),
            may_merge=may_merge(request.user),
            recordings=list(
                playable_recordings(request.user)
                .filter(call__case=case)
                .select_related("call__operator")
                .order_by("created_at")
            ),
        ),
    )


def _int(value) -> int:
    """A posted id, or 0 (no row) for anything that is not a number."""
    return int(value) if (value or "").isdigit() else 0


def _people_involved(case, referrals, appointments, follow_ups, admissions):
    """Who held, referred and received the case, in words: (who, what they did)."""
    people = [(case.owning_organisation, _("Holds the case"))]
    if case.owner_id:
        people.append((case.owner, _("Case owner")))
    for r in referrals:
        people.append((r.sent_by or r.sender, _("Referred to %(org)s") % {"org": r.receiver}))
        if r.acknowledged_by_id:
            people.append((r.acknowledged_by, _("Received for %(org)s") % {"org": r.receiver}))
    people += [(a.slot.counsellor, _("Counsellor")) for a in appointments if a.slot_id]
    people += [(a.admitted_by, _("Admitted the person")) for a in admissions if a.admitted_by_id]
    people += [(f.assignee, _("Follow-up")) for f in follow_ups if f.assignee_id]
    seen, unique = set(), []
    for who, what in people:
        if (str(who), str(what)) not in seen:
            seen.add((str(who), str(what)))
            unique.append((who, what))
    return unique


def _back(request, fallback: str):
    return redirect(same_site_next(request, fallback))


def _run(request, action, *, success, fallback: str):
    """Run one service call for a form post; its refusal becomes a message on the page.
    ``success`` is the message, or a function of the service's result that says it."""
    try:
        result = action()
        messages.success(request, success(result) if callable(success) else success)
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


def _when(moment) -> str:
    return timezone.localtime(moment).strftime("%m-%d %H:%M")


# What each step did, in words (not a bare "Done."): the result the counsellor or nurse needs.
REFERRAL_RESULTS = {
    "acknowledge": lambda r: _("Received: the referral is yours; pre-assess it next."),
    "decline": lambda r: _("Declined; the sender is told and chooses another receiver."),
    "pre-assess": lambda a: (
        _("Pre-assessment saved: %(risk)s, %(recommendation)s.")
        % {"risk": a.get_risk_display(), "recommendation": a.get_recommendation_display()}
    ),
    "schedule": lambda a: (
        _("Appointment booked for %(time)s with %(who)s.")
        % {"time": _when(a.slot.starts_at), "who": a.slot.counsellor}
    ),
    "no-show": lambda r: _("No-show recorded; a follow-up call is scheduled."),
    "complete": lambda r: _("Referral completed; the case moves to follow-up."),
    "admit": lambda a: _("Admitted: ward %(ward)s, bed %(bed)s.") % {"ward": a.ward, "bed": a.bed},
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
        success=REFERRAL_RESULTS[action],
        fallback="clinics:hospital"
        if referral.kind != ReferralKind.COUNSELLING
        else "clinics:counsellor",
    )


@require_POST
@for_roles(Role.COUNSELLOR, Role.COORDINATOR)
def green_channel_action(request, pk: int):
    """绿色通道: the counsellor sends the person on to a hospital service from a counselling
    referral; the transfer carries the pre-assessment. A picked slot names hospital and service."""
    referral = get_object_or_404(
        visible_referrals(request.user).select_related("pre_assessment"), pk=pk
    )
    post = request.POST
    slot = HospitalSlot.objects.filter(pk=post.get("slot") or 0).first()
    hospital = slot.hospital if slot else None
    if hospital is None and (post.get("hospital") or "").isdigit():
        hospital = green_channel_hospitals().filter(pk=post["hospital"]).first()
    service = slot.service if slot else post.get("service", "")
    assessment = getattr(referral, "pre_assessment", None)
    snapshot = {"counselling_referral": referral.pk}
    if assessment is not None:
        snapshot["pre_assessment"] = {
            "risk": assessment.risk,
            "presenting_problem": assessment.presenting_problem,
            "recommendation": assessment.recommendation,
            "notes": assessment.notes,
        }

    def send():
        return referral_services.send_referral(
            request.user,
            referral.case,
            kind=ReferralKind.GREEN_CHANNEL,
            receiver=hospital,
            reason=post.get("reason", "").strip(),
            snapshot=snapshot,
            consent=post.get("consent") == "on",
            consent_override_reason=post.get("consent_override_reason", ""),
            parent=referral,
            service=service,
            slot=slot,
        )

    def said(sent):
        booking = sent.green_channel_booking
        if booking.slot_id and not booking.over_capacity:
            return _("Green channel booked at %(org)s: %(service)s, %(time)s.") % {
                "org": sent.receiver,
                "service": booking.get_service_display(),
                "time": _when(booking.slot.starts_at),
            }
        return _("Green channel sent to %(org)s: %(service)s, no free place; it makes room.") % {
            "org": sent.receiver,
            "service": booking.get_service_display(),
        }

    return _run(request, send, success=said, fallback="clinics:counsellor")


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
            next_slot=CounsellorSlot.objects.filter(pk=_int(request.POST.get("next_slot"))).first(),
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


# --- grants: break-glass, the owner, follow-up assignees ----------------------------------


@for_roles(Role.COORDINATOR)
def break_glass_page(request):
    """紧急查阅: a coordinator opens one case for themselves, with a written reason."""
    values = {"case": request.GET.get("case", ""), "reason": ""}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = {
            "case": request.POST.get("case", "").strip(),
            "reason": request.POST.get("reason", ""),
        }
        case = Case.objects.filter(pk=values["case"]).first() if values["case"].isdigit() else None
        if case is None:
            errors["case"] = [_("No such case number.")]
        else:
            try:
                record = services.break_glass(
                    request.user,
                    case,
                    reason=values["reason"],
                    verified=accounts_verified(request),
                )
            except DomainError as exc:
                errors = exc.fields or {"case": [exc.message]}
            else:
                messages.success(
                    request,
                    _("Emergency access until %(time)s; the owning coordinators are told.")
                    % {"time": timezone.localtime(record.expires_at).strftime("%H:%M")},
                )
                return redirect("clinics:case", pk=case.pk)
    return render(
        request,
        "clinics/break_glass.html",
        _context(
            request,
            gettext_lazy("Emergency access to a case"),
            values=values,
            errors=errors,
            minutes=settings.BREAK_GLASS_MINUTES,
            needs_second_factor=settings.BREAK_GLASS_REQUIRES_SECOND_FACTOR
            and not accounts_verified(request),
            has_second_factor=has_second_factor(request.user),
            shortest=settings.BREAK_GLASS_REASON_MIN_CHARS,
        ),
        status=400 if errors else 200,
    )


@require_POST
@for_roles(*CARE_PAGE_ROLES)
def next_step_action(request, pk: int):
    case = get_object_or_404(visible_cases(request.user), pk=pk)
    owner = User.objects.filter(pk=request.POST.get("owner") or 0).first()
    return _run(
        request,
        lambda: set_next_step(
            request.user,
            case,
            next_step=request.POST.get("next_step", "").strip() or case.next_step,
            due=case.next_step_due,
            owner=owner,
        ),
        success=_("Next step saved."),
        fallback="clinics:follow_ups",
    )


@require_POST
@for_roles(*CARE_PAGE_ROLES)
def follow_up_action(request, pk: int):
    case = get_object_or_404(visible_cases(request.user), pk=pk)
    due = parse_datetime(request.POST.get("due_at", ""))
    if due is None:
        messages.error(request, _("Give the follow-up's date and time."))
        return _back(request, "clinics:follow_ups")
    if timezone.is_naive(due):
        due = timezone.make_aware(due)
    assignee = User.objects.filter(pk=request.POST.get("assignee") or 0).first()
    return _run(
        request,
        lambda: services.schedule_follow_up(request.user, case, due_at=due, assignee=assignee),
        success=_("Follow-up scheduled."),
        fallback="clinics:follow_ups",
    )


# --- assistance plans (一对一帮扶): the case page's forms ------------------------------------


def _care_groups():
    return Organisation.objects.filter(kind=OrganisationKind.CARE_GROUP, is_active=True).order_by(
        "name"
    )


def _moment_or_none(request, name: str):
    """A ``datetime-local`` field: None when empty; a message and False when not a time."""
    raw = request.POST.get(name, "").strip()
    if not raw:
        return None
    moment = parse_datetime(raw)
    if moment is None:
        messages.error(request, _("Give the check-in date and time as shown in the field."))
        return False
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


@require_POST
@for_roles(*CARE_PAGE_ROLES)
def plan_action(request, pk: int):
    case = get_object_or_404(visible_cases(request.user), pk=pk)
    group = _care_groups().filter(pk=request.POST.get("care_group") or 0).first()
    if group is None:
        messages.error(request, _("Choose the care group that takes on the plan."))
        return _back(request, "clinics:follow_ups")
    return _run(
        request,
        lambda: services.create_plan(
            request.user, case, care_group=group, goal=request.POST.get("goal", "")
        ),
        success=_("Assistance plan started; add its measures."),
        fallback="clinics:follow_ups",
    )


@require_POST
@for_roles(*CARE_PAGE_ROLES)
def measure_action(request, pk: int):
    plan = get_object_or_404(
        AssistancePlan.objects.filter(case__in=visible_cases(request.user)), pk=pk
    )
    owner = eligible_workers(plan.case).filter(pk=request.POST.get("owner") or 0).first()
    due = _moment_or_none(request, "next_check_in")
    if owner is None:
        messages.error(request, _("Choose who carries out the measure."))
    if owner is None or due is False:
        return _back(request, "clinics:follow_ups")
    return _run(
        request,
        lambda: services.add_measure(
            request.user,
            plan,
            kind=request.POST.get("kind", ""),
            description=request.POST.get("description", "").strip(),
            owner=owner,
            next_check_in=due,
        ),
        success=_("Measure added."),
        fallback="clinics:follow_ups",
    )


@require_POST
@for_roles(*CARE_PAGE_ROLES)
def check_in_action(request, pk: int):
    measure = get_object_or_404(
        PlanMeasure.objects.filter(plan__case__in=visible_cases(request.user)), pk=pk
    )
    due = _moment_or_none(request, "next_check_in")
    if due is False:
        return _back(request, "clinics:follow_ups")
    done = request.POST.get("done") == "on"
    return _run(
        request,
        lambda: services.check_in(
            request.user,
            measure,
            note=request.POST.get("note", "").strip(),
            next_check_in=due,
            done=done,
        ),
        success=_("Measure done.") if done else _("Check-in recorded."),
        fallback="clinics:follow_ups",
    )
