"""Audience names, the channel-layer groups they map to, and who receives which event (最小必要).

The one place that says which roles of which organisation receive which event type. Every event
type has a *need* (the work it serves), and each need names its receivers with the same role sets
and predicates that answer REST (``directory.access``; ``hotline.selectors``,
``referrals.selectors``, ``escalation.selectors`` read from them):

- case: ``CASE_ROLES`` of every organisation holding the case (owner + live grants), plus people
  named on it (a follow-up's assignee, a plan's members) -- ``hotline.selectors.can_work_on_case``.
- calls: ``CALL_ROLES`` of the call's hotline centre and the operator it is offered to (or
  the receiver it is transferred to) --
  ``hotline.selectors.visible_calls``.
- hotline (no case): ``CALL_ROLES`` of the centre (its queue and presence).
- referral: ``CASE_ROLES`` of the sender and the receiver, and who sent it --
  ``referrals.selectors.visible_referrals``.
- dispatch: ``DISPATCH_RUNNER_ROLES`` of the owner and coordinators of every holder: every leg,
  the whole brief -- ``escalation.selectors.sees_whole_dispatch``.
- leg: the leg's own organisation and named responder (their own leg and the minimal brief only)
  plus the dispatch's runners -- ``escalation.selectors.visible_legs``.
- alert: its target, whoever it was escalated to, the hotline centre's coordinators --
  ``escalation.selectors.can_act_on_alert``.
- audit: nobody; kept on the log, never broadcast.

Administrators receive every broadcast event (``EVERYONE``); decision makers none of a case
(their dashboard counts, it polls). There is no ``org:<id>`` audience for a case event except a
leg's organisation (every member of a police or ambulance centre answers its legs) and an alert
addressed to a whole organisation. See docs/events.md, "Who receives which events".
"""

from collections.abc import Iterable

from directory.access import (
    CALL_ROLES,
    CASE_ROLES,
    DISPATCH_RUNNER_ROLES,
    is_administrator,
    memberships,
)
from directory.models import Role

EVERYONE = "all"  # administrators' group: receives every broadcast event
AUDIT = "audit"  # kept on the log, never broadcast


def user(user_id: int) -> str:
    return f"user:{user_id}"


def org(org_id: int) -> str:
    return f"org:{org_id}"


def org_role(org_id: int, role: str) -> str:
    return f"orgrole:{org_id}:{role}"


def group_name(audience: str) -> str:
    """Channel-layer group names allow only ASCII letters, digits, hyphens, underscores, periods."""
    return "aud." + audience.replace(":", ".")


def audiences_for(user_obj) -> set[str]:
    """Every audience a user belongs to now; recomputed on each connect and membership change."""
    if not user_obj or not user_obj.is_authenticated:
        return set()
    found = {user(user_obj.pk)}
    for m in memberships(user_obj):
        found.add(org(m.organisation_id))
        found.add(org_role(m.organisation_id, m.role))
    if is_administrator(user_obj):
        found.add(EVERYONE)
    return found


# --- needs and the event types that serve them ----------------------------------------------

CASE = "case"
CALLS = "calls"
HOTLINE = "hotline"
REFERRAL = "referral"
DISPATCH = "dispatch"
LEG = "leg"
ALERT = "alert"
AUDIT_ONLY = "audit"

_TYPES_BY_NEED: dict[str, tuple[str, ...]] = {
    CALLS: (
        "call.queued",
        "call.offered",
        "call.offer_expired",
        "call.offer_withdrawn",
        "call.accepted",
        "call.triaged",
        "call.identified",
        "call.ended",
        "call.abandoned",
        "call.completed",
        "call.callback_requested",
        # issue 18: supervision, the operator's call for help, responders joined, post-call SMS
        "call.help_requested",
        "call.supervision_started",
        "call.supervision_changed",
        "call.supervision_ended",
        "call.responder_joined",
        "call.sms_sent",
        "call.sms_failed",
        "call.held",
        "call.resumed",
        "call.transfer_offered",
        "call.transfer_joining",
        "call.transfer_joined",
        "call.transfer_completed",
        "call.transfer_cancelled",
        "call.overflowed",
        "call.overflow_disposed",
        "callback.scheduled",
        "callback.attempted",
        "callback.closed",
        "conversation.message",
        "conversation.delivery",
        "conversation.typing",
    ),
    HOTLINE: ("operator.presence_changed", "queue.surge", "queue.surge_ended"),
    CASE: (
        "case.opened",
        "case.stage_changed",
        "case.risk_changed",
        "case.next_step_set",
        "case.closed",
        "case.access_granted",
        "case.break_glass",
        "person.updated",
        "person.flagged",
        "person.flag_cleared",
        "person.merged",
        "appointment.booked",
        "appointment.attended",
        "appointment.no_show",
        "appointment.cancelled",
        "admission.admitted",
        "admission.discharged",
        "follow_up.scheduled",
        "follow_up.rescheduled",
        "follow_up.attempted",
        "follow_up.lost",
        "plan.created",
        "plan.measure_added",
        "plan.checked_in",
        "plan.closed",
        "screening.flagged",
        "screening.task_acknowledged",
        "screening.task_done",
        "safety_plan.saved",
        "safety_plan.sent",
        "safety_plan.reviewed",
    ),
    REFERRAL: (
        "referral.sent",
        "referral.acknowledged",
        "referral.pre_assessed",
        "referral.scheduled",
        "referral.attended",
        "referral.completed",
        "referral.declined",
        "referral.no_show",
        "referral.cancelled",
        "referral.revoked",
        "referral.continued",
        "green_channel.booked",
    ),
    DISPATCH: (
        "dispatch.created",
        "dispatch.location_updated",
        "dispatch.closed",
        "dispatch.conference_joined",
        "message.sent",
        "message.failed",
    ),
    LEG: (
        "dispatch.leg_notified",
        "dispatch.leg_acknowledged",
        "dispatch.leg_progressed",
        "dispatch.leg_failed",
        "dispatch.leg_location_updated",
        "dispatch.leg_note",
        "dispatch.leg_resent",
        "dispatch.leg_reassigned",
    ),
    ALERT: (
        "alert.raised",
        "alert.notified",
        "alert.acknowledged",
        "alert.resolved",
        "alert.reassigned",
        "alert.assigned",
        "alert.call_placed",
    ),
    AUDIT_ONLY: ("case.read", "dashboard.drill_down", "person.anonymised"),
}
# Every event type the system publishes, and its need. ``publish`` refuses an event about a case
# whose type is not here; tests/realtime/test_audiences.py checks every type written in the code.
EVENT_TYPES: dict[str, str] = {t: need for need, ts in _TYPES_BY_NEED.items() for t in ts}


class UnregisteredEventType(ValueError):
    """An event about a case whose type has no need here: nobody could say who may receive it."""


def need_of(event_type: str) -> str | None:
    return EVENT_TYPES.get(event_type)


# --- the receivers of each need -------------------------------------------------------------


def _roles_of(org_ids: Iterable[int], roles: Iterable[str]) -> set[str]:
    return {org_role(o, r) for o in org_ids for r in roles}


def case_file(holder_ids: Iterable[int]) -> set[str]:
    """``case``: the case roles of every organisation holding the case (can_work_on_case)."""
    return _roles_of(holder_ids, CASE_ROLES)


def calls(hotline_id: int, *user_ids: int | None) -> set[str]:
    """``calls``: the call roles of the call's hotline centre and the operators named."""
    return _roles_of([hotline_id], CALL_ROLES) | {user(u) for u in user_ids if u}


def hotline_staff(hotline_id: int, *user_ids: int | None) -> set[str]:
    """``hotline``: the queue and presence of a centre, for those who answer or coordinate it."""
    return calls(hotline_id, *user_ids)


def referral(sender_id: int, receiver_id: int, sent_by_id: int | None = None) -> set[str]:
    """``referral``: the case roles of the two ends (visible_referrals) and who sent it."""
    found = _roles_of([sender_id, receiver_id], CASE_ROLES)
    if sent_by_id:
        found.add(user(sent_by_id))
    return found


def dispatch_runners(owner_id: int, holder_ids: Iterable[int]) -> set[str]:
    """``dispatch``: the runner roles of the owner and the coordinators of every holder
    (escalation.selectors.case_holder: who sees every leg)."""
    return _roles_of([owner_id], DISPATCH_RUNNER_ROLES) | _roles_of(holder_ids, [Role.COORDINATOR])


def leg(leg_org_id: int, responder_id: int | None, runners: Iterable[str]) -> set[str]:
    """``leg``: its own organisation (every member answers its legs: visible_legs), its named
    responder, and the dispatch's runners."""
    found = {org(leg_org_id), *runners}
    if responder_id:
        found.add(user(responder_id))
    return found


def alert(
    *,
    target_user_id: int | None,
    target_organisation_id: int | None,
    target_role: str,
    assigned_organisation_id: int | None,
    notified_user_ids: Iterable[int],
    centre_id: int | None,
) -> set[str]:
    """``alert``: exactly those escalation.selectors.can_act_on_alert lets act on it."""
    found = {user(u) for u in notified_user_ids}
    if target_user_id:
        found.add(user(target_user_id))
    for o in (target_organisation_id, assigned_organisation_id):
        if not o:
            continue
        if target_role:
            found |= {org_role(o, target_role), org_role(o, Role.COORDINATOR)}
        else:
            found.add(org(o))
    if centre_id:
        found.add(org_role(centre_id, Role.COORDINATOR))
    return found
