"""督导: a coordinator of the call's hotline listens in (muted), whispers to the operator (coach:
heard by the operator only) or barges in (heard by both), through the call's conference. Each
start, switch and end is on the case's timeline. Switching updates the supervisor's leg in place
(``participants(sid).update``) rather than dialling again."""

import logging

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from twilio.base.exceptions import TwilioException

from core.errors import Conflict, Forbidden, Invalid
from core.telephony import twilio_client, twilio_configured
from hotline.conference_models import (
    LIVE_PARTICIPANT,
    ConferenceParticipant,
    ParticipantRole,
    ParticipantStatus,
)
from hotline.events import publish_call
from hotline.models import Call, CallChannel, CallStatus
from hotline.selectors import can_supervise
from hotline.services.conference import add_participant, conference_state

log = logging.getLogger(__name__)

# The calls that are a conference (a walk-in or an entry by hand has none).
PHONE_CHANNELS = (CallChannel.TWILIO_VOICE, CallChannel.CALLBACK)

# mode -> how the supervisor's leg is set (Twilio: muted, coaching)
MODES = {
    "listen": {"muted": True, "coaching": False},
    "whisper": {"muted": False, "coaching": True},
    "barge": {"muted": False, "coaching": False},
}
MODE_WORDS = {
    "listen": gettext_lazy("Listening (muted)"),
    "whisper": gettext_lazy("Whispering to the operator"),
    "barge": gettext_lazy("Barged in"),
}


def mode_of(leg: ConferenceParticipant) -> str:
    if leg.coaching:
        return "whisper"
    return "listen" if leg.muted else "barge"


def supervisor_target(user) -> str:
    """Where the coordinator hears the call: their desk phone, SIP address or mobile phone
    from the profile, else their browser softphone."""
    if user.desk_phone:
        return str(user.desk_phone)
    if user.sip_address:
        return (
            user.sip_address if user.sip_address.startswith("sip:") else "sip:" + user.sip_address
        )
    if user.phone:
        return str(user.phone)
    return f"client:operator-{user.pk}"


def _require_supervisor(actor, call: Call) -> None:
    if not can_supervise(actor, call):
        raise Forbidden(_("Only the coordinators of this hotline centre may supervise its calls."))


def _live_call(call: Call) -> Call:
    call = Call.objects.select_for_update(of=("self",)).select_related("case").get(pk=call.pk)
    if call.channel not in PHONE_CHANNELS:
        raise Conflict(
            _("This call is not on the telephone line: there is no conference to join."),
            code="not_a_phone_call",
        )
    if call.status != CallStatus.IN_PROGRESS:
        raise Conflict(
            _("The call is %(status)s: there is nothing to supervise.")
            % {"status": call.get_status_display()},
            code="call_not_live",
        )
    return call


def _my_leg(call: Call, actor) -> ConferenceParticipant | None:
    return (
        ConferenceParticipant.objects.select_for_update()
        .filter(call=call, role=ParticipantRole.SUPERVISOR, user=actor, status__in=LIVE_PARTICIPANT)
        .first()
    )


def _operator_sid(call: Call) -> str:
    """The operator's call SID, which a whisper coaches (the console gateway has none)."""
    if not twilio_configured():
        return ""
    leg = (
        ConferenceParticipant.objects.filter(
            call=call, role=ParticipantRole.OPERATOR, status__in=LIVE_PARTICIPANT
        )
        .exclude(call_sid="")
        .order_by("-id")
        .first()
    )
    if leg is None:
        raise Conflict(
            _("The operator's line is not in the conference yet; try again in a moment."),
            code="operator_not_joined",
        )
    return leg.call_sid


def supervise(actor, call: Call, *, mode: str) -> ConferenceParticipant:
    """Start supervising in ``mode`` (listen, whisper, barge), or switch my running leg to it."""
    if mode not in MODES:
        raise Invalid(_("Choose listen, whisper or barge."), fields={"mode": [_("Unknown mode.")]})
    _require_supervisor(actor, call)
    settings_ = MODES[mode]
    with transaction.atomic():
        call = _live_call(call)
        coach = _operator_sid(call) if settings_["coaching"] else None
        leg = _my_leg(call, actor)
        if leg is None:
            leg = add_participant(
                call,
                role=ParticipantRole.SUPERVISOR,
                to=supervisor_target(actor),
                user=actor,
                muted=settings_["muted"],
                coach_sid=coach,
                actor=actor,
            )
            if settings_["coaching"] and not leg.coaching:  # the console gateway: no SIDs
                leg.coaching = True
                leg.save(update_fields=["coaching"])
            publish_call("call.supervision_started", call, actor, mode=mode, leg=leg.pk)
            return leg
        before = mode_of(leg)
        if before == mode:
            return leg
        _update_leg(call, leg, coach_sid=coach, **settings_)
        leg.muted, leg.coaching = settings_["muted"], settings_["coaching"]
        leg.save(update_fields=["muted", "coaching"])
        publish_call("call.supervision_changed", call, actor, mode=mode, before=before, leg=leg.pk)
    return leg


def _participant(call: Call, leg: ConferenceParticipant):
    """The supervisor's leg at Twilio: by the conference's SID and the leg's call SID."""
    if not call.conference_sid or not leg.call_sid:
        raise Conflict(
            _("The supervisor's line has not joined the conference yet; try again in a moment."),
            code="conference_not_started",
        )
    return twilio_client().conferences(call.conference_sid).participants(leg.call_sid)


def _update_leg(call: Call, leg, *, muted: bool, coaching: bool, coach_sid: str | None) -> None:
    if not twilio_configured():
        return
    fields = {"muted": muted, "coaching": coaching}
    if coaching:
        fields["call_sid_to_coach"] = coach_sid
    try:
        _participant(call, leg).update(**fields)
    except TwilioException as exc:
        log.warning("supervision update of %s failed: %s", leg.call_sid, exc)
        raise Conflict(
            _("The telephone service refused the change; please try again."),
            code="telephony_failed",
        ) from exc


def end_supervision(actor, call: Call) -> ConferenceParticipant:
    """Leave the call: the supervisor's leg is taken out of the conference."""
    _require_supervisor(actor, call)
    with transaction.atomic():
        call = Call.objects.select_for_update(of=("self",)).select_related("case").get(pk=call.pk)
        leg = _my_leg(call, actor)
        if leg is None:
            raise Conflict(_("You are not supervising this call."), code="not_supervising")
        if twilio_configured() and call.conference_sid and leg.call_sid:
            try:
                _participant(call, leg).delete()
            except TwilioException as exc:
                # The leg may already have left (the call ended); it is marked left either way.
                log.warning("removing supervisor leg %s failed: %s", leg.call_sid, exc)
        leg.status = ParticipantStatus.LEFT
        leg.left_at = timezone.now()
        leg.save(update_fields=["status", "left_at"])
        publish_call("call.supervision_ended", call, actor, mode=mode_of(leg), leg=leg.pk)
    return leg


__all__ = ["MODES", "conference_state", "end_supervision", "mode_of", "supervise"]
