"""The one outbound gateway: Twilio when an account is configured, else the recording console.

Both record the message in ``OutboundMessage``; the console gateway only marks it sent, so the
embedded default shows on the dispatch page exactly what would have gone out.
"""

from django.conf import settings
from django.urls import reverse
from twilio.twiml.voice_response import Dial, VoiceResponse

from core.telephony import twilio_client, twilio_configured
from escalation.models import Channel, OutboundMessage


def public_url(path: str) -> str:
    base = (settings.TWILIO_WEBHOOK_BASE_URL or settings.ESCALATION_PUBLIC_BASE_URL).rstrip("/")
    return base + path


def gateway_name() -> str:
    return "twilio" if twilio_configured() else "console"


def send(message: OutboundMessage) -> str:
    """Send one message; returns the provider's id. Raises on failure (the caller retries)."""
    if not twilio_configured():
        return f"CONSOLE{message.pk:08d}"
    client = twilio_client()
    if message.channel == Channel.SMS:
        sent = client.messages.create(
            to=message.to, from_=settings.TWILIO_FROM_NUMBER, body=message.body
        )
        return sent.sid
    if message.channel == Channel.VOICE:
        call = client.calls.create(
            to=message.to,
            from_=settings.TWILIO_FROM_NUMBER,
            url=public_url(reverse("escalation-twilio:voice-alert", args=[message.token])),
            method="POST",
        )
        return call.sid
    raise ValueError(f"unknown channel {message.channel}")


def conference_twiml(room: str) -> str:
    response = VoiceResponse()
    dial = Dial()
    dial.conference(room, start_conference_on_enter=True, end_conference_on_exit=False)
    response.append(dial)
    return str(response)


def bridge_into_conference(call_sid: str, room: str, numbers: list[str]) -> list[str]:
    """Move the live call into a conference room and dial the responders into it (三方通话)."""
    if not twilio_configured():
        return [f"CONSOLE-{room}-{n}" for n in numbers]
    client = twilio_client()
    client.calls(call_sid).update(twiml=conference_twiml(room))
    sids = []
    for number in numbers:
        participant = client.conferences(room).participants.create(
            from_=settings.TWILIO_FROM_NUMBER, to=number, early_media=True
        )
        sids.append(participant.call_sid)
    return sids
