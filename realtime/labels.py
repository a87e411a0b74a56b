"""Every event type in words, for the pages that show the event log (live feed, console timeline).

A page never shows a raw type such as ``call.offer_expired``: a type missing here falls back to
``UNKNOWN`` ("Other activity"), and tests/realtime/test_event_labels.py fails when a type in
``audiences.EVENT_TYPES`` (every type the code publishes) has no words.
"""

from django.utils.translation import gettext_lazy as _

EVENT_LABELS = {
    "admission.admitted": _("Admitted to hospital"),
    "admission.discharged": _("Discharged from hospital"),
    "alert.acknowledged": _("Alert acknowledged"),
    "alert.assigned": _("Alert handed to an organisation"),
    "alert.call_placed": _("Coordinator called"),
    "alert.notified": _("Alert escalated"),
    "alert.raised": _("Alert raised"),
    "alert.reassigned": _("Alert reassigned"),
    "alert.resolved": _("Alert resolved"),
    "appointment.attended": _("Appointment attended"),
    "appointment.booked": _("Appointment booked"),
    "appointment.cancelled": _("Appointment cancelled"),
    "appointment.no_show": _("Missed appointment"),
    "call.abandoned": _("Caller hung up while waiting"),
    "callback.attempted": _("Call-back attempted"),
    "callback.closed": _("Call-back closed"),
    "callback.scheduled": _("Call-back scheduled"),
    "call.accepted": _("Call accepted"),
    "call.callback_requested": _("Call-back needed"),
    "call.help_requested": _("Operator asked for help on the call"),
    "call.supervision_started": _("Coordinator joined the call to supervise"),
    "call.supervision_changed": _("Supervision mode changed"),
    "call.supervision_ended": _("Supervision ended"),
    "call.responder_joined": _("Responder joined to the call"),
    "call.sms_sent": _("Post-call SMS sent to the caller"),
    "call.sms_failed": _("Post-call SMS not delivered"),
    "call.completed": _("Call completed"),
    "call.ended": _("Call ended"),
    "call.identified": _("Caller identified"),
    "call.offer_expired": _("Offered call not answered in time"),
    "call.offer_withdrawn": _("Call offer withdrawn"),
    "call.offered": _("Call offered"),
    "call.overflow_disposed": _("Overflow call handled by the partner centre"),
    "call.overflowed": _("Call overflowed to the partner centre"),
    "call.queued": _("New call waiting"),
    "call.triaged": _("Call triaged"),
    "call.held": _("Caller put on hold"),
    "call.resumed": _("Caller taken off hold"),
    "call.transfer_offered": _("Call transfer offered"),
    "call.transfer_joining": _("Transfer receiver joining the call"),
    "call.transfer_joined": _("Transfer receiver joined the call"),
    "call.transfer_completed": _("Call transferred"),
    "call.transfer_cancelled": _("Call transfer cancelled"),
    "case.access_granted": _("Case shared with an organisation"),
    "case.break_glass": _("Emergency access to a case"),
    "case.closed": _("Case closed"),
    "case.next_step_set": _("Next step set"),
    "case.opened": _("Case opened"),
    "case.read": _("Case read"),
    "case.risk_changed": _("Risk changed"),
    "case.stage_changed": _("Case moved along the loop"),
    "conversation.delivery": _("Message delivery updated"),
    "conversation.message": _("New message in a conversation"),
    "conversation.typing": _("Typing in a conversation"),
    "dashboard.drill_down": _("Cases opened from the one-screen view"),
    "dispatch.closed": _("Dispatch closed"),
    "dispatch.conference_joined": _("Joined the emergency conference call"),
    "dispatch.created": _("Emergency dispatch"),
    "dispatch.leg_acknowledged": _("Responder acknowledged"),
    "dispatch.leg_failed": _("Responder could not act"),
    "dispatch.leg_location_updated": _("Responder's location updated"),
    "dispatch.leg_note": _("Note on a dispatch"),
    "dispatch.leg_notified": _("Responder alerted"),
    "dispatch.leg_progressed": _("Responder on the way"),
    "dispatch.leg_reassigned": _("Dispatch handed to another responder"),
    "dispatch.leg_resent": _("Dispatch sent again"),
    "dispatch.location_updated": _("Caller's location updated"),
    "follow_up.attempted": _("Follow-up call attempted"),
    "follow_up.lost": _("Lost to follow-up"),
    "follow_up.scheduled": _("Follow-up scheduled"),
    "follow_up.rescheduled": _("Follow-up brought forward"),
    "green_channel.booked": _("Green channel booked"),
    "message.failed": _("Message failed"),
    "message.sent": _("Message sent"),
    "operator.presence_changed": _("Operator status changed"),
    "person.anonymised": _("Person's details removed"),
    "person.flag_cleared": _("Caller flag cleared"),
    "person.flagged": _("Caller flag set"),
    "person.merged": _("Records of one person merged"),
    "person.updated": _("Person updated"),
    "plan.checked_in": _("Assistance plan check-in"),
    "plan.closed": _("Assistance plan closed"),
    "plan.created": _("Assistance plan made"),
    "plan.measure_added": _("Measure added to an assistance plan"),
    "queue.surge": _("Queue is long"),
    "queue.surge_ended": _("Queue back to normal"),
    "referral.acknowledged": _("Referral acknowledged"),
    "referral.attended": _("Referral attended"),
    "referral.cancelled": _("Referral cancelled"),
    "referral.completed": _("Referral completed"),
    "referral.continued": _("Referral continued after a new call"),
    "referral.declined": _("Referral declined"),
    "referral.no_show": _("Referred person did not come"),
    "referral.pre_assessed": _("Pre-assessment done"),
    "referral.revoked": _("Referral withdrawn"),
    "referral.scheduled": _("Referral appointment booked"),
    "referral.sent": _("New referral"),
    "safety_plan.reviewed": _("Safety plan reviewed at a follow-up"),
    "safety_plan.saved": _("Safety plan saved"),
    "safety_plan.sent": _("Safety plan sent to the caller by SMS"),
    "screening.flagged": _("Screening flagged a student"),
    "screening.task_acknowledged": _("Screening flag taken on"),
    "screening.task_done": _("Screening flag followed up"),
}

UNKNOWN = _("Other activity")


def event_label(event_type: str) -> str:
    """The words for an event type in the active language."""
    return str(EVENT_LABELS.get(event_type, UNKNOWN))


def live_labels() -> dict[str, str]:
    """What the pages' scripts read from ``#live-labels``: every type, the fallback and "Case"."""
    labels = {event_type: str(words) for event_type, words in EVENT_LABELS.items()}
    labels["*"] = str(UNKNOWN)
    labels["case"] = str(_("Case"))
    return labels
