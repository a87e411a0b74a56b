"""Writes for escalation, by what they are about: ``dispatch`` (one-key dispatch and its legs),
``location`` (where a dispatch goes and who is nearest), ``briefs`` (what it says to responders
and the operator), ``coordination`` (the coordinator's actions on a leg),
``alerts`` (alerts and their escalation), ``notifications`` (outbound SMS and voice),
``replies`` (acknowledgement by SMS reply or key press) and ``timers`` (durable deadlines).
The public names are re-exported here, so callers write
``from escalation import services`` and ``services.create_dispatch(...)``.

Every function takes the acting user (or None for the worker and phone replies), checks
permission, changes state in one transaction and publishes the event (全程留痕).
"""

from escalation.services.alerts import (
    AlertSpec,
    acknowledge_alert,
    alert_summary,
    assign_alert_to_user,
    assignment_due,
    call_alert_responder,
    clear_alert,
    fire_alert_step,
    raise_alert,
    reassign_alert,
    resolve_alert,
    resolve_by_system,
)
from escalation.services.briefs import LOCATE_CALLER, case_brief, warning_messages
from escalation.services.coordination import leg_reached_by_phone, note_leg, resend_leg
from escalation.services.dispatch import (
    CONFERENCE_KINDS,
    HELPED,
    LEG_STEPS,
    OPTIONAL_KINDS,
    acknowledge_leg,
    advance_leg,
    bring_into_call,
    close_dispatch,
    create_dispatch,
    fail_leg,
    find_by_code,
    get_leg,
    leg_alert_spec,
    leg_deadline_passed,
    set_dispatch_location,
)
from escalation.services.help import request_help
from escalation.services.location import location_known
from escalation.services.notifications import deliver, e164, queue_message
from escalation.services.replies import (
    ReplyOutcome,
    acknowledge_by_call,
    acknowledge_by_sms,
    is_acknowledgement,
    parse_reply,
)
from escalation.services.timers import register_timer_handler, schedule, timer_handler

__all__ = [
    "CONFERENCE_KINDS",
    "HELPED",
    "LEG_STEPS",
    "LOCATE_CALLER",
    "OPTIONAL_KINDS",
    "AlertSpec",
    "ReplyOutcome",
    "acknowledge_alert",
    "acknowledge_by_call",
    "acknowledge_by_sms",
    "acknowledge_leg",
    "advance_leg",
    "alert_summary",
    "assign_alert_to_user",
    "assignment_due",
    "bring_into_call",
    "call_alert_responder",
    "case_brief",
    "clear_alert",
    "close_dispatch",
    "create_dispatch",
    "deliver",
    "e164",
    "fail_leg",
    "find_by_code",
    "fire_alert_step",
    "get_leg",
    "is_acknowledgement",
    "leg_alert_spec",
    "leg_deadline_passed",
    "leg_reached_by_phone",
    "location_known",
    "note_leg",
    "parse_reply",
    "queue_message",
    "raise_alert",
    "reassign_alert",
    "register_timer_handler",
    "request_help",
    "resend_leg",
    "resolve_alert",
    "resolve_by_system",
    "schedule",
    "set_dispatch_location",
    "timer_handler",
    "warning_messages",
]
