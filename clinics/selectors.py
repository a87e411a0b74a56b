"""Reads of the receiving organisations' work: due follow-ups, overdue check-ins, visibility."""

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils.translation import gettext as _

from clinics.models import (
    Admission,
    AssistancePlan,
    CounsellingSession,
    FollowUp,
    FollowUpState,
    PlanMeasure,
    PlanState,
)
from directory.access import is_administrator
from hotline.caseplan import CLAIM_ADMISSION, CLAIM_FOLLOW_UP, OpenItem
from hotline.models import ResponsibleRole
from hotline.selectors import case_organisation_ids, visible_cases


def overdue_follow_ups(now):
    """Scheduled follow-ups past their due time (partial index on due_at); for escalation."""
    return (
        FollowUp.objects.filter(state=FollowUpState.SCHEDULED, due_at__lte=now)
        .select_related("case", "organisation", "assignee")
        .order_by("due_at")
    )


def overdue_check_ins(now):
    """Measures of active assistance plans whose check-in date has passed."""
    return (
        PlanMeasure.objects.filter(done=False, plan__state=PlanState.ACTIVE, next_check_in__lte=now)
        .select_related("plan", "owner")
        .order_by("next_check_in")
    )


def visible_follow_ups(user):
    qs = FollowUp.objects.select_related("case__person", "organisation", "assignee")
    if is_administrator(user):
        return qs
    # The follow-up's organisation does it, while it still holds the case; being named
    # assignee alone opens nothing.
    return qs.filter(organisation__in=case_organisation_ids(user), case__in=visible_cases(user))


def visible_admissions(user):
    qs = Admission.objects.select_related("case__person", "hospital", "referral")
    if is_administrator(user):
        return qs
    return qs.filter(hospital__in=case_organisation_ids(user))


def visible_plans(user):
    qs = AssistancePlan.objects.select_related("case__person", "care_group")
    if is_administrator(user):
        return qs
    return qs.filter(Q(case__in=visible_cases(user)) | Q(members=user)).distinct()


# --- the case's open items (hotline.caseplan) ---------------------------------------------

ADMISSION_REVIEW = timedelta(days=7)  # a stay is reviewed weekly until discharge


def case_items(case) -> list[OpenItem]:
    """The hospital answers for the case while the person is admitted; the follow-up's assignee
    (or organisation) after; an assistance plan's measures are due at their check-ins."""
    items = []
    for a in Admission.objects.filter(case=case, state="admitted").select_related("hospital"):
        items.append(
            OpenItem(
                key=f"admission:{a.pk}",
                kind="admission",
                text=_("In hospital at %(org)s: discharge with a follow-up plan")
                % {"org": a.hospital.name},
                due=a.admitted_at + ADMISSION_REVIEW,
                claim=CLAIM_ADMISSION,
                role=ResponsibleRole.HOSPITAL,
                organisation_id=a.hospital_id,
                covers=(f"referral:{a.referral_id}",),
            )
        )
    for f in FollowUp.objects.filter(case=case, state=FollowUpState.SCHEDULED):
        items.append(
            OpenItem(
                key=f"follow_up:{f.pk}",
                kind="follow_up",
                text=_("Follow-up call (回访) no. %(n)s") % {"n": f.sequence},
                due=f.due_at,
                claim=CLAIM_FOLLOW_UP,
                role=ResponsibleRole.FOLLOW_UP_ASSIGNEE,
                organisation_id=f.organisation_id,
                user_id=f.assignee_id,
            )
        )
    idle = timedelta(hours=settings.CASE_IDLE_HOURS)
    plans = AssistancePlan.objects.filter(case=case, state=PlanState.ACTIVE)
    for plan in plans.prefetch_related("measures"):
        dated = [m for m in plan.measures.all() if not m.done and m.next_check_in]
        for m in dated:
            items.append(
                OpenItem(
                    key=f"measure:{m.pk}",
                    kind="check_in",
                    text=_("Assistance-plan check-in: %(measure)s") % {"measure": m.description},
                    due=m.next_check_in,
                )
            )
        if not dated:
            # A plan with nothing dated is still work in hand: date its next check-in.
            items.append(
                OpenItem(
                    key=f"plan:{plan.pk}",
                    kind="check_in",
                    text=_("Set the next check-in of the assistance plan"),
                    due=max(
                        [plan.created_at]
                        + [m.last_check_in for m in plan.measures.all() if m.last_check_in]
                    )
                    + idle,
                )
            )
    return items


def course_sessions(referral_ids) -> dict[int, list[CounsellingSession]]:
    """The sessions so far of each counselling course (咨询疗程), by referral, oldest first."""
    by_referral: dict[int, list[CounsellingSession]] = {pk: [] for pk in referral_ids}
    for session in (
        CounsellingSession.objects.filter(appointment__referral__in=list(by_referral))
        .select_related("appointment__slot__counsellor")
        .order_by("held_at", "id")
    ):
        by_referral[session.appointment.referral_id].append(session)
    return by_referral
