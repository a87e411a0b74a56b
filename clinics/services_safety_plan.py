"""Writes of the safety plan's review at a follow-up (回访时回顾安全计划)."""

from django.db import transaction
from django.utils.translation import gettext as _

from clinics.models import FollowUp, FollowUpState, ReviewOutcome, SafetyPlanReview
from clinics.services import CARE_ROLES
from core.errors import Conflict, Forbidden, Invalid
from directory.access import has_role, is_administrator
from directory.models import Role
from hotline.services import safety_plans
from realtime.publish import publish


def review_safety_plan(
    actor, follow_up: FollowUp, *, outcome: str, sections=None, sms_consent: bool = False
) -> SafetyPlanReview:
    """Record the plan's review on the follow-up: reviewed unchanged (the current version), or
    updated (``sections`` saved as the plan's next version first)."""
    if outcome not in ReviewOutcome.values:
        raise Invalid(_("Unknown review outcome."), fields={"outcome": [outcome]})
    # The follow-up's organisation reviews, as it records the follow-up's attempts.
    if not (
        is_administrator(actor)
        or has_role(actor, *CARE_ROLES, Role.OPERATOR, organisation=follow_up.organisation)
    ):
        raise Forbidden(_("This follow-up is assigned to another organisation."))
    with transaction.atomic():
        follow_up = FollowUp.objects.select_for_update().select_related("case").get(pk=follow_up.pk)
        if follow_up.state != FollowUpState.SCHEDULED:
            raise Conflict(_("This follow-up is already finished."), code="illegal_transition")
        if outcome == ReviewOutcome.UPDATED:
            version = safety_plans.save_version(
                actor, follow_up.case, sections, sms_consent=sms_consent
            )
        else:
            version = safety_plans.current_version(follow_up.case)
            if version is None:
                raise Conflict(_("This case has no safety plan to review yet."), code="no_plan")
        review = SafetyPlanReview.objects.create(
            follow_up=follow_up, version=version, outcome=outcome, by=actor
        )
        publish(
            "safety_plan.reviewed",
            case=follow_up.case,
            actor=actor,
            data={"follow_up": follow_up.pk, "version": version.number, "outcome": outcome},
        )
    return review
