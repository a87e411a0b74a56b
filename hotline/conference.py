"""Every accepted hotline call is a Twilio conference (会议通话): its name, the caller's TwiML
and the hold music. The legs and what is done to them are ``hotline.services.conference``."""

from django.conf import settings
from django.urls import reverse
from twilio.twiml.voice_response import Dial, VoiceResponse

from core.telephony import public_url
from hotline import voice

# What the conference reports to ``hotline-twilio-conference``.
CONFERENCE_EVENTS = "start end join leave mute hold"
HOLD_MESSAGE = "请不要挂机，接线员马上回来。"


def conference_name(call) -> str:
    return f"hotline-call-{call.pk}"


def status_callback_url() -> str:
    return public_url(reverse("hotline-twilio-conference"))


def hold_url() -> str:
    return public_url(reverse("hotline-twilio-hold-music"))


def caller_twiml(call) -> str:
    """Move the caller into their call's conference: it starts when the operator joins (hold
    music until then) and ends when the caller leaves; recorded from the start when the caller
    heard the recording announcement."""
    dial = Dial()
    dial.conference(
        conference_name(call),
        start_conference_on_enter=False,
        end_conference_on_exit=True,
        beep=False,
        wait_url=hold_url(),
        wait_method="POST",
        status_callback=status_callback_url(),
        status_callback_event=CONFERENCE_EVENTS,
        status_callback_method="POST",
        **voice.recording_attributes(call),
    )
    response = VoiceResponse()
    response.append(dial)
    return str(response)


def hold_music_twiml() -> str:
    """What a held caller hears (Twilio fetches it again when it ends)."""
    response = VoiceResponse()
    response.say(HOLD_MESSAGE, language="zh-CN")
    if settings.HOTLINE_HOLD_MUSIC_URL:
        response.play(settings.HOTLINE_HOLD_MUSIC_URL)
    else:
        response.pause(length=10)
    return str(response)
