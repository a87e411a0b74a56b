"""Reads of the receiving organisations' work: due follow-ups, overdue check-ins, visibility."""

from django.db.models import Q

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
