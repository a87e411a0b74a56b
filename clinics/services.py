"""Writes at the receiving organisations: counselling sessions, admissions and discharge,
assistance plans (一对一帮扶), follow-ups (回访) and emergency break-glass reads."""

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clinics.models import (
    Admission,
    AssistancePlan,
    BreakGlass,
    CounsellingSession,
    FollowUp,
    FollowUpAttempt,
    FollowUpReason,
    FollowUpState,
    MeasureKind,
    PlanMeasure,
    SessionOutcome,
)
from core.errors import Conflict, Forbidden, Invalid, refused_as_conflict
from directory.access import has_role, is_administrator
from directory.models import Membership, Organisation, OrganisationKind, Role
from hotline import services as hotline_services
from hotline.caseplan import refresh_next_step
from hotline.models import Case, CaseAccess, Risk, Stage, risk_at_least
from hotline.selectors import can_work_on_case, case_organisation_ids, eligible_workers
from realtime import audiences as aud
from realtime.publish import publish
from referrals import selectors as referral_selectors
from referrals import services as referral_services
from referrals.models import Appointment, Referral, ReferralKind, ReferralState

CARE_ROLES = (Role.COUNSELLOR, Role.HOSPITAL_STAFF, Role.COORDINATOR, Role.EXPERT)


def _advance(actor, case: Case, stage: str, *, reason: str) -> Case:
    """Advance from facts; re-read the case first, an earlier step may have moved it."""
    fresh = Case.objects.get(pk=case.pk)
    return hotline_services.advance_case_if_behind(actor, fresh, stage, reason=reason)


def _refused(what: str):
    """A refused transition of this ``what`` (appointment, admission, plan) as a Conflict."""
    return refused_as_conflict(
        _("This %(what)s cannot do that in its current state.") % {"what": what}
    )


def _require_staff(actor, organisation: Organisation, roles=CARE_ROLES) -> None:
    if is_administrator(actor):
        return
    if not has_role(actor, *roles, organisation=organisation):
        raise Forbidden(_("You do not work for %(org)s.") % {"org": organisation.name})


def _hotline_coordinators() -> list[str]:
    return [
        aud.org_role(pk, Role.COORDINATOR)
        for pk in Organisation.objects.filter(
            kind=OrganisationKind.HOTLINE_CENTRE, is_active=True
        ).values_list("pk", flat=True)
    ]


# --- counselling sessions ---------------------------------------------------------------


def record_session(
    actor,
    appointment: Appointment,
    *,
    notes: str,
    outcome: str,
    next_slot=None,
    next_counsellor=None,
    next_starts_at=None,
):
    """咨询记录: notes and outcome of an attended visit; the first visit starts treatment.

    A course of counselling (咨询疗程) lives on its referral: "continue" books the next session
    on it (``next_slot``, or ``next_counsellor`` and ``next_starts_at``), "completed" completes
    it once, and that completion starts the follow-up plan once."""
    if outcome not in SessionOutcome.values:
        raise Invalid(_("Unknown session outcome."), fields={"outcome": [outcome]})
    if not notes.strip():
        raise Invalid(_("Write the session notes."), fields={"notes": ["required"]})
    if (
        outcome == SessionOutcome.CONTINUE
        and next_slot is None
        and not (next_counsellor and next_starts_at)
    ):
        raise Invalid(
            _("Choose the time of the next session."),
            fields={"next_slot": [_("Continuing counselling books the next session.")]},
        )
    with transaction.atomic():
        appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
        _require_staff(actor, appointment.organisation, (Role.COUNSELLOR, Role.COORDINATOR))
        with _refused(_("appointment")):
            appointment.attend()
        if appointment.referral is None:
            # Booked before sessions kept their referral: it belongs to the course under way.
            appointment.referral = referral_selectors.course_in_hand(
                appointment.case, appointment.organisation
            )
        appointment.save()
        session = CounsellingSession.objects.create(
            appointment=appointment,
            case=appointment.case,
            counsellor=actor,
            notes=notes,
            outcome=outcome,
        )
        referral = appointment.referral
        # A finished referral is not reopened by a late session; it is a session of no course.
        course = referral if referral is not None and referral.is_active else None
        if course is not None and course.state != ReferralState.ATTENDED:
            referral_services.attend(actor, course, note=notes[:200])
        _advance(actor, appointment.case, Stage.TREATMENT, reason="first counselling session")
        publish(
            "appointment.attended",
            case=appointment.case,
            actor=actor,
            data={
                "appointment": appointment.pk,
                "session": session.pk,
                "outcome": outcome,
                "referral": referral.pk if referral else None,
            },
        )
        if outcome == SessionOutcome.CONTINUE:
            session.next_appointment = _book_next_session(
                actor, appointment, course, next_slot, next_counsellor, next_starts_at
            )
            session.save(update_fields=["next_appointment"])
        elif outcome == SessionOutcome.COMPLETED:
            if course is not None:
                # Its completion starts 回访 (on_referral_changed): once, from here alone.
                referral_services.complete(actor, course, outcome=notes)
            else:
                _counselling_done(actor, appointment.case, appointment.organisation)
        refresh_next_step(appointment.case, actor)
    return session


def _book_next_session(actor, appointment, course, slot, counsellor, starts_at) -> Appointment:
    if course is not None:
        return referral_services.book_next_session(
            actor, course, slot=slot, counsellor=counsellor, starts_at=starts_at
        )
    return referral_services.book_appointment(
        actor,
        case=appointment.case,
        slot=slot,
        counsellor=counsellor,
        starts_at=starts_at,
        channel=appointment.channel,
    )


def _counselling_done(actor, case: Case, organisation: Organisation) -> None:
    case = _advance(actor, case, Stage.FOLLOW_UP, reason="counselling completed")
    schedule_follow_ups(actor, case, reason=FollowUpReason.COMPLETED, organisation=organisation)


# --- hospital ---------------------------------------------------------------------------


def admit(actor, referral: Referral, *, ward: str, bed: str) -> Admission:
    """入院: admit a transferred person to a ward bed; treatment starts."""
    if not ward.strip() or not bed.strip():
        raise Invalid(_("Give the ward and the bed."), fields={"ward": ["required"]})
    if referral.kind not in (ReferralKind.GREEN_CHANNEL, ReferralKind.CONSORTIUM):
        raise Invalid(_("Only a hospital transfer can be admitted."), code="not_a_transfer")
    _require_staff(actor, referral.receiver, (Role.HOSPITAL_STAFF, Role.COORDINATOR))
    if referral.state == ReferralState.SENT:
        raise Conflict(_("Accept the transfer before admitting."), code="illegal_transition")
    try:
        with transaction.atomic():
            if referral.state != ReferralState.ATTENDED:
                referral = referral_services.attend(actor, referral, note=f"{ward} {bed}")
            admission = Admission.objects.create(
                referral=referral,
                case=referral.case,
                hospital=referral.receiver,
                ward=ward,
                bed=bed,
                admitted_by=actor,
            )
            publish(
                "admission.admitted",
                case=referral.case,
                actor=actor,
                data={
                    "admission": admission.pk,
                    "referral": referral.pk,
                    "ward": ward,
                    "bed": bed,
                },
            )
            refresh_next_step(referral.case, actor)
    except IntegrityError as exc:
        raise Conflict(
            _("That bed is taken, or the person is already admitted."), code="bed_taken"
        ) from exc
    return admission


def discharge(actor, admission: Admission, *, summary: str, follow_up_plan: str) -> Admission:
    """出院: discharge with a follow-up plan; the case moves to 回访 and follow-ups are booked."""
    if not summary.strip() or not follow_up_plan.strip():
        raise Invalid(
            _("A discharge needs a summary and a follow-up plan."),
            fields={"follow_up_plan": ["required"]},
        )
    with transaction.atomic():
        admission = Admission.objects.select_for_update().get(pk=admission.pk)
        _require_staff(actor, admission.hospital, (Role.HOSPITAL_STAFF, Role.COORDINATOR))
        with _refused(_("admission")):
            admission.discharge()
        admission.discharged_at = timezone.now()
        admission.discharge_summary = summary
        admission.follow_up_plan = follow_up_plan
        admission.save()
        referral = admission.referral
        if referral.state == ReferralState.ATTENDED:
            referral_services.complete(actor, referral, outcome=summary)
        case = _advance(actor, admission.case, Stage.FOLLOW_UP, reason="discharge")
        publish(
            "admission.discharged",
            case=case,
            actor=actor,
            data={"admission": admission.pk, "referral": referral.pk, "plan": follow_up_plan},
        )
        schedule_follow_ups(
            actor, case, reason=FollowUpReason.DISCHARGE, organisation=admission.hospital
        )
        refresh_next_step(case, actor)
    return admission


# --- follow-ups (回访) -------------------------------------------------------------------


def _check_assignee(case: Case, organisation: Organisation, assignee) -> None:
    """A follow-up's assignee works on cases (not a decision maker, not a responder) for the
    follow-up's organisation, which holds the case."""
    if assignee is None:
        return
    if not eligible_workers(case, {organisation.pk}).filter(pk=assignee.pk).exists():
        raise Invalid(
            _("%(who)s may not be given this follow-up.") % {"who": assignee},
            fields={
                "assignee": [
                    _("Choose a case worker of %(org)s, which holds the case.")
                    % {"org": organisation.name}
                ]
            },
        )


def follow_up_offsets(risk: str) -> list[int]:
    if risk_at_least(risk, Risk.HIGH):
        return list(settings.FOLLOW_UP_HOURS_HIGH)
    return list(settings.FOLLOW_UP_HOURS_DEFAULT)


def schedule_follow_ups(
    actor,
    case: Case,
    *,
    reason: str,
    organisation: Organisation,
    assignee=None,
    start=None,
    risk: str | None = None,
) -> list[FollowUp]:
    """回访计划: first contact within 24-48 h by risk, then 7 and 30 days (configurable).

    One plan per case: the open plan is the case's scheduled follow-ups in due order. A new
    trigger (a resolved call, a no-show, a discharge, completed counselling) is merged into it
    call by call: where the trigger's call is due earlier it wins (with its reason and
    organisation), where the plan has no call one is added; never a second plan. Returns the
    open plan after the merge."""
    start = start or timezone.now()
    risk = risk or case.risk
    _check_assignee(case, organisation, assignee)
    with transaction.atomic():
        # Two triggers at once (a discharge and a completed referral) would both see no plan.
        Case.objects.select_for_update().filter(pk=case.pk).first()
        open_plan = list(
            FollowUp.objects.select_for_update()
            .filter(case=case, state=FollowUpState.SCHEDULED)
            .order_by("due_at", "id")
        )
        wanted = [start + timedelta(hours=hours) for hours in follow_up_offsets(risk)]
        for position, due_at in enumerate(wanted):
            if position < len(open_plan):
                _tighten(actor, open_plan[position], due_at, reason, organisation, assignee)
                continue
            follow_up = FollowUp.objects.create(
                case=case,
                organisation=organisation,
                assignee=assignee,
                reason=reason,
                sequence=position + 1,
                due_at=due_at,
            )
            open_plan.append(follow_up)
            publish(
                "follow_up.scheduled",
                case=case,
                actor=actor,
                data=_follow_up_data(follow_up),
                audiences=[aud.user(assignee.pk)] if assignee else [],
            )
        refresh_next_step(case, actor)
    return open_plan


def _tighten(actor, follow_up: FollowUp, due_at, reason, organisation, assignee) -> None:
    """Earliest due wins: an open call due later than the new trigger's moves up to its time
    and passes to the trigger's organisation, which asked for the earlier contact."""
    if follow_up.due_at <= due_at:
        return
    previous = follow_up.due_at
    follow_up.due_at = due_at
    follow_up.reason = reason
    if follow_up.organisation_id != organisation.pk or assignee is not None:
        follow_up.organisation = organisation
        follow_up.assignee = assignee
    follow_up.save(update_fields=["due_at", "reason", "organisation", "assignee"])
    publish(
        "follow_up.rescheduled",
        case=follow_up.case,
        actor=actor,
        data=_follow_up_data(follow_up, previous_due_at=previous.isoformat()),
        audiences=[aud.user(follow_up.assignee_id)] if follow_up.assignee_id else [],
    )


def _follow_up_data(follow_up: FollowUp, **extra) -> dict:
    return {
        "follow_up": follow_up.pk,
        "sequence": follow_up.sequence,
        "reason": follow_up.reason,
        "due_at": follow_up.due_at.isoformat(),
        "organisation": follow_up.organisation_id,
        "assignee": follow_up.assignee_id,
        "state": follow_up.state,
        **extra,
    }


def schedule_follow_up(actor, case: Case, *, due_at, organisation=None, assignee=None) -> FollowUp:
    """One extra follow-up scheduled by staff."""
    if not can_work_on_case(actor, case):
        raise Forbidden(_("This case belongs to an organisation you do not work for."))
    organisation = (
        organisation
        or Organisation.objects.filter(
            pk__in=case_organisation_ids(actor) & case.audience_organisation_ids()
        ).first()
        or case.owning_organisation
    )
    if organisation.pk not in case.audience_organisation_ids():
        raise Invalid(
            _("The follow-up's organisation must hold the case."),
            fields={"organisation": [_("Choose an organisation that holds the case.")]},
        )
    _check_assignee(case, organisation, assignee)
    with transaction.atomic():
        sequence = case.follow_ups.count() + 1
        follow_up = FollowUp.objects.create(
            case=case,
            organisation=organisation,
            assignee=assignee,
            reason=FollowUpReason.MANUAL,
            sequence=sequence,
            due_at=due_at,
        )
        publish(
            "follow_up.scheduled",
            case=case,
            actor=actor,
            data=_follow_up_data(follow_up),
            audiences=[aud.user(assignee.pk)] if assignee else [],
        )
        refresh_next_step(case, actor)
    return follow_up


def record_attempt(actor, follow_up: FollowUp, *, outcome: str, notes: str = "") -> FollowUp:
    """Record one contact attempt; reached closes it, the third failure marks the case lost."""
    if outcome not in FollowUpAttempt.Outcome.values:
        raise Invalid(_("Unknown attempt outcome."), fields={"outcome": [outcome]})
    with transaction.atomic():
        follow_up = FollowUp.objects.select_for_update().get(pk=follow_up.pk)
        # Being named assignee is not enough: the assignee's organisation does the follow-up.
        if not (
            is_administrator(actor)
            or has_role(actor, *CARE_ROLES, Role.OPERATOR, organisation=follow_up.organisation)
        ):
            raise Forbidden(_("This follow-up is assigned to another organisation."))
        if follow_up.state != FollowUpState.SCHEDULED:
            raise Conflict(_("This follow-up is already finished."), code="illegal_transition")
        attempt = FollowUpAttempt.objects.create(
            follow_up=follow_up, by=actor, outcome=outcome, notes=notes
        )
        case = follow_up.case
        lost = False
        if not attempt.failed:
            follow_up.finish()
            follow_up.outcome = notes
            follow_up.done_at = attempt.at
        else:
            follow_up.failed_attempts += 1
            if follow_up.failed_attempts >= settings.FOLLOW_UP_MAX_FAILED_ATTEMPTS:
                follow_up.lose()
                follow_up.done_at = attempt.at
                lost = True
        follow_up.save()
        publish(
            "follow_up.attempted",
            case=case,
            actor=actor,
            data=_follow_up_data(
                follow_up, attempt=attempt.pk, outcome=outcome, failed=follow_up.failed_attempts
            ),
        )
        refresh_next_step(case, actor)  # lost: the coordinators' decision below stands over it
        if lost:
            # Lost to follow-up: the later contacts cannot happen either; the hotline's
            # coordinators must decide what to do (visit, community, police welfare check).
            for later in FollowUp.objects.select_for_update().filter(
                case=case, state=FollowUpState.SCHEDULED
            ):
                later.cancel()
                later.save()
            hotline_services.set_next_step(
                actor,
                case,
                next_step=_("Lost to follow-up after %(n)s failed attempts: decide next action.")
                % {"n": follow_up.failed_attempts},
                due=attempt.at + timedelta(hours=24),
            )
            publish(
                "follow_up.lost",
                case=case,
                actor=actor,
                data=_follow_up_data(follow_up),
            )
    return follow_up


# --- assistance plans (一对一帮扶) ----------------------------------------------------------


def create_plan(
    actor, case: Case, *, care_group: Organisation, goal: str, members=(), measures=()
) -> AssistancePlan:
    """一对一帮扶: a care group takes on the person with measures, owners and check-in dates."""
    if not can_work_on_case(actor, case):
        raise Forbidden(_("This case belongs to an organisation you do not work for."))
    if care_group.kind != OrganisationKind.CARE_GROUP or not care_group.is_active:
        raise Invalid(_("Choose an active care group."), fields={"care_group": [care_group.pk]})
    if not goal.strip():
        raise Invalid(_("State the plan's goal."), fields={"goal": ["required"]})
    members = list(members)
    in_directory = set(
        Membership.objects.active().filter(user__in=members).values_list("user_id", flat=True)
    )
    strangers = [m.pk for m in members if m.pk not in in_directory]
    if strangers:
        raise Invalid(
            _("Care group members must be staff in the directory."),
            fields={"members": strangers},
        )
    with transaction.atomic():
        plan = AssistancePlan.objects.create(
            case=case, care_group=care_group, goal=goal, created_by=actor
        )
        plan.members.set(members)
        hotline_services.grant_access(
            case, care_group, reason=CaseAccess.Reason.CARE_GROUP, granted_by=actor
        )
        case = _advance(actor, case, Stage.ASSISTANCE, reason="assistance plan started")
        publish(
            "plan.created",
            case=case,
            actor=actor,
            data={"plan": plan.pk, "care_group": care_group.pk, "members": [m.pk for m in members]},
            audiences=[aud.user(m.pk) for m in members],
        )
        for m in measures:
            add_measure(actor, plan, **m)
        refresh_next_step(case, actor)
    return plan


def _require_plan_worker(actor, plan: AssistancePlan) -> None:
    if plan.members.filter(pk=actor.pk).exists() or can_work_on_case(actor, plan.case):
        return
    raise Forbidden(_("You are not in this care group."))


def add_measure(actor, plan: AssistancePlan, *, kind, description, owner, next_check_in=None):
    if kind not in MeasureKind.values:
        raise Invalid(_("Unknown measure kind."), fields={"kind": [kind]})
    _require_plan_worker(actor, plan)
    if plan.state != "active":
        raise Conflict(_("The plan is closed."), code="illegal_transition")
    with transaction.atomic():
        measure = PlanMeasure.objects.create(
            plan=plan, kind=kind, description=description, owner=owner, next_check_in=next_check_in
        )
        publish(
            "plan.measure_added",
            case=plan.case,
            actor=actor,
            data={
                "plan": plan.pk,
                "measure": measure.pk,
                "kind": kind,
                "owner": owner.pk,
                "next_check_in": next_check_in.isoformat() if next_check_in else None,
            },
            audiences=[aud.user(owner.pk)],
        )
        refresh_next_step(plan.case, actor)
    return measure


def check_in(actor, measure: PlanMeasure, *, note: str, next_check_in=None, done=False):
    """A measure's owner reports progress and sets the next check-in date."""
    with transaction.atomic():
        measure = PlanMeasure.objects.select_for_update().select_related("plan").get(pk=measure.pk)
        _require_plan_worker(actor, measure.plan)
        if measure.done:
            raise Conflict(_("This measure is already done."), code="illegal_transition")
        measure.last_check_in = timezone.now()
        measure.last_note = note
        measure.next_check_in = None if done else next_check_in
        measure.done = done
        measure.save()
        publish(
            "plan.checked_in",
            case=measure.plan.case,
            actor=actor,
            data={"plan": measure.plan_id, "measure": measure.pk, "done": done, "note": note},
        )
        refresh_next_step(measure.plan.case, actor)
    return measure


def close_plan(actor, plan: AssistancePlan, *, reason: str) -> AssistancePlan:
    with transaction.atomic():
        plan = AssistancePlan.objects.select_for_update().get(pk=plan.pk)
        _require_plan_worker(actor, plan)
        with _refused(_("plan")):
            plan.close()
        plan.closed_at = timezone.now()
        plan.save()
        publish(
            "plan.closed",
            case=plan.case,
            actor=actor,
            data={"plan": plan.pk, "reason": reason},
        )
        refresh_next_step(plan.case, actor)
    return plan


# --- emergency break-glass read -----------------------------------------------------------


def require_second_factor(actor, *, verified: bool) -> None:
    """The one place break-glass asks for a second factor (TOTP). ``verified`` says the request
    carried one; whether it is required is ``BREAK_GLASS_REQUIRES_SECOND_FACTOR``."""
    if settings.BREAK_GLASS_REQUIRES_SECOND_FACTOR and not verified:
        raise Forbidden(
            _("Confirm your identity with your second factor first."), code="second_factor"
        )


def break_glass(actor, case: Case, *, reason: str, verified: bool = False) -> BreakGlass:
    """紧急查阅 emergency read by a coordinator: for that coordinator alone (not their
    organisation), with a written reason, for ``BREAK_GLASS_MINUTES``; audited and announced to
    the coordinators of the organisation that owns the case."""
    coord_orgs = Organisation.objects.filter(
        memberships__user=actor, memberships__role=Role.COORDINATOR, memberships__is_active=True
    )
    organisation = coord_orgs.order_by("pk").first()
    if organisation is None:
        raise Forbidden(_("Only a coordinator may open a case in an emergency."))
    reason = (reason or "").strip()
    shortest = settings.BREAK_GLASS_REASON_MIN_CHARS
    if len(reason) < shortest:
        raise Invalid(
            _("Write why you need emergency access."),
            fields={
                "reason": [
                    _("Say why in at least %(n)s characters: who is at risk and what you need.")
                    % {"n": shortest}
                ]
            },
        )
    require_second_factor(actor, verified=verified)
    now = timezone.now()
    expires_at = now + timedelta(minutes=settings.BREAK_GLASS_MINUTES)
    with transaction.atomic():
        grant = hotline_services.grant_access(
            case,
            organisation,
            reason=CaseAccess.Reason.BREAK_GLASS,
            granted_by=actor,
            note=reason[:200],
            user=actor,
            ends_at=expires_at,
        )
        record = BreakGlass.objects.create(
            case=case,
            user=actor,
            organisation=organisation,
            grant=grant,
            reason=reason,
            expires_at=expires_at,
        )
        hotline_services.record_case_read(actor, case, what="break_glass")
        publish(
            "case.break_glass",
            case=case,
            actor=actor,
            data={
                "user": actor.pk,
                "username": actor.get_username(),
                "organisation": organisation.pk,
                "reason": reason,
                "expires_at": record.expires_at.isoformat(),
            },
            audiences=[
                aud.EVERYONE,
                aud.org_role(case.owning_organisation_id, Role.COORDINATOR),
                *_hotline_coordinators(),
            ],
            include_case_audiences=False,
        )
    return record


def expire_break_glass(now) -> int:
    """Revoke break-glass grants past their time (run by the escalation worker's tick)."""
    ids = list(
        BreakGlass.objects.filter(expires_at__lte=now, grant__revoked_at__isnull=True).values_list(
            "grant_id", flat=True
        )
    )
    return CaseAccess.objects.filter(pk__in=ids).update(revoked_at=now)


# --- hooks ------------------------------------------------------------------------------


def on_disposition(actor, case: Case, disposition: str, *, risk: str) -> list[FollowUp]:
    """A resolved moderate-or-higher call gets a follow-up plan from the hotline centre."""
    if disposition == "resolved" and risk_at_least(risk, Risk.MODERATE):
        return schedule_follow_ups(
            actor,
            case,
            reason=FollowUpReason.RESOLVED_CALL,
            organisation=case.owning_organisation,
            risk=risk,
        )
    return []


def on_referral_changed(actor, referral: Referral, change: str) -> None:
    if change == "no_show":
        schedule_follow_ups(
            actor,
            referral.case,
            reason=FollowUpReason.NO_SHOW,
            organisation=referral.receiver,
        )
    elif change == "completed" and referral.kind == ReferralKind.COUNSELLING:
        # Counselling that ended in a transfer hands the loop on: the discharge starts 回访.
        onward = Referral.objects.active().filter(case=referral.case).exclude(pk=referral.pk)
        if not onward.exists():
            _counselling_done(actor, referral.case, referral.receiver)


def open_work_reasons(case: Case) -> list[str]:
    """Close check: open follow-ups and current admissions hold the loop open."""
    reasons = [
        _("follow-up #%(id)s due %(due)s is still open")
        % {"id": f.pk, "due": timezone.localtime(f.due_at).strftime("%Y-%m-%d %H:%M")}
        for f in FollowUp.objects.filter(case=case, state=FollowUpState.SCHEDULED)
    ]
    if Admission.objects.filter(case=case, state="admitted").exists():
        reasons.append(_("the person is still admitted to hospital"))
    return reasons
