"""What the coordinator does to a dispatch leg from the board (协调员处置): mark it reached by
phone, write a note on it, send its SMS and voice call again. Each is recorded as an event."""

from django.db import transaction
from django.utils.translation import gettext as _

from core.errors import Conflict, Forbidden, Invalid
from escalation import selectors
from escalation.models import ACTIVE_LEG_STATES, Channel, DispatchLeg, LegState
from escalation.services.briefs import leg_phones, sms_text, voice_text
from escalation.services.dispatch import acknowledge_leg, leg_event, locked_leg
from escalation.services.notifications import queue_message


def _require_runner(actor, leg: DispatchLeg) -> None:
    if not selectors.can_run_dispatch(actor, leg.dispatch):
        raise Forbidden(_("Only the operators and coordinators running it may do this."))


def leg_reached_by_phone(actor, leg: DispatchLeg) -> DispatchLeg:
    """电话已联系上: the coordinator reached the responder by phone; it counts as their 收到."""
    _require_runner(actor, leg)
    if leg.state != LegState.NOTIFIED:
        raise Conflict(
            _("This leg is already “%(state)s”: it needs no phone confirmation.")
            % {"state": leg.get_state_display()},
            code="already_acknowledged",
        )
    return acknowledge_leg(actor, leg, via="phone")


def note_leg(actor, leg: DispatchLeg, *, note: str) -> DispatchLeg:
    """A note on a leg (处置备注), kept in the event log beside the leg's other events."""
    note = (note or "").strip()
    if not note:
        raise Invalid(_("Write the note first."), fields={"note": [_("Required.")]})
    _require_runner(actor, leg)
    with transaction.atomic():
        leg = locked_leg(leg)
        leg_event("dispatch.leg_note", leg, actor, note=note[:2000])
    return leg


def resend_leg(actor, leg: DispatchLeg) -> list:
    """重发通知: the leg's SMS and voice call again, to every number it was sent to."""
    _require_runner(actor, leg)
    with transaction.atomic():
        leg = locked_leg(leg)
        if leg.state not in ACTIVE_LEG_STATES:
            raise Conflict(
                _("This leg is finished (“%(state)s”); there is nobody to notify.")
                % {"state": leg.get_state_display()},
                code="leg_finished",
            )
        phones = leg_phones(leg)
        if not phones:
            raise Invalid(
                _("Neither the responder nor the organisation has a phone number."),
                code="no_number",
            )
        sent = []
        for phone in phones:
            links = {"dispatch": leg.dispatch, "leg": leg, "recipient": leg.responder}
            sent.append(queue_message(Channel.SMS, phone, sms_text(leg), **links))
            sent.append(queue_message(Channel.VOICE, phone, voice_text(leg), **links))
        leg_event("dispatch.leg_resent", leg, actor, phones=phones)
    return sent
