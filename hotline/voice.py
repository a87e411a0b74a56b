"""TwiML and Voice tokens for the hotline (official Twilio SDK)."""

import functools

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _
from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import VoiceGrant
from twilio.twiml.voice_response import Dial, VoiceResponse

from core.errors import Conflict
from core.telephony import public_url
from hotline.models import Device

QUEUE_NAME = "hotline"
GREETING = "您好，这里是南太湖心航心理援助热线。您的来电对我们很重要，请稍候，接线员马上为您接听。"
WAIT_MESSAGE = "接线员正在通话中，请不要挂机，我们会尽快接听您的来电。"


@functools.lru_cache(maxsize=8)
def queue_twiml(wait_url: str, announcement: str = "") -> str:
    """Greet in Chinese, tell the caller the call is recorded when the line records
    (``announcement``), and put the caller into the hotline queue with a wait loop."""
    response = VoiceResponse()
    response.say(GREETING, language="zh-CN")
    if announcement:
        response.say(announcement, language="zh-CN")
    response.enqueue(QUEUE_NAME, wait_url=wait_url, wait_url_method="POST")
    return str(response)


def wait_twiml(position: int | None = None) -> str:
    """Played in a loop while queued (Twilio fetches the wait URL again when it ends)."""
    response = VoiceResponse()
    if position is not None and position > 1:
        response.say(f"您前面还有{position - 1}位来电者。", language="zh-CN")
    response.say(WAIT_MESSAGE, language="zh-CN")
    response.pause(length=10)
    return str(response)


def recording_attributes(call) -> dict:
    """``<Conference>`` attributes recording the call, for a caller who heard the recording
    announcement (``Call.recording_announced``); nothing for one who did not. The callback names
    the call, so Twilio's signature covers which call the recording is of."""
    if not call.recording_announced:
        return {}
    return {
        "record": "record-from-start",
        "recording_status_callback": public_url(
            f"{reverse('hotline-twilio-recording')}?call={call.pk}"
        ),
        "recording_status_callback_method": "POST",
        "recording_status_callback_event": "completed",
    }


FALLBACK_MESSAGE = "您好，这里是南太湖心航心理援助热线。正在为您转接值班电话，请不要挂机。"
FALLBACK_RETRY = "值班电话暂时无人接听，正在为您重新转接，请不要挂机。"


def fallback_number() -> str:
    return settings.HOTLINE_FALLBACK_NUMBER


def fallback_twiml(wait_url: str, retry_url: str, *, retry: bool = False) -> str:
    """The caller is put through without the database (数据库故障时的兜底): dial the duty phone
    (``HOTLINE_FALLBACK_NUMBER``), coming back to ``retry_url`` when it does not answer; with
    no duty phone configured, hold the caller in Twilio's queue, which an operator can take
    once the spooled call is recorded."""
    response = VoiceResponse()
    response.say(FALLBACK_RETRY if retry else FALLBACK_MESSAGE, language="zh-CN")
    number = fallback_number()
    if number:
        dial = Dial(timeout=25, action=retry_url, method="POST", answer_on_bridge=True)
        dial.number(number)
        response.append(dial)
    else:
        response.enqueue(QUEUE_NAME, wait_url=wait_url, wait_url_method="POST")
    return str(response)


def after_fallback_dial_twiml(dial_status: str, wait_url: str, retry_url: str) -> str:
    """The duty phone's call ended: hang up after a conversation, else dial it again."""
    if dial_status in ("completed", "answered"):
        response = VoiceResponse()
        response.hangup()
        return str(response)
    return fallback_twiml(wait_url, retry_url, retry=True)


def client_identity(user) -> str:
    return f"operator-{user.pk}"


def device_target(user, device: str) -> str:
    """Where a user is rung: their SIP address, desk phone, or the console's browser client."""
    if device == Device.SIP and user.sip_address:
        address = user.sip_address
        return address if address.startswith("sip:") else "sip:" + address
    if device == Device.DESK_PHONE and user.desk_phone:
        return str(user.desk_phone)
    return "client:" + client_identity(user)


def dial_twiml(user, device: str) -> tuple[str, str]:
    """TwiML that bridges the waiting caller to the operator; returns (twiml, target)."""
    dial = Dial(answer_on_bridge=True)
    target = device_target(user, device)
    if target.startswith("sip:"):
        dial.sip(target)
    elif target.startswith("client:"):
        dial.client(client_identity(user))
    else:
        dial.number(target)
    response = VoiceResponse()
    response.append(dial)
    return str(response), target


def voice_token(user) -> tuple[str, str, int]:
    """A short-lived Voice access token for the browser console: (jwt, identity, ttl)."""
    if not (
        settings.TWILIO_ACCOUNT_SID
        and settings.TWILIO_API_KEY_SID
        and settings.TWILIO_API_KEY_SECRET
    ):
        raise Conflict(
            _("Browser calling is not configured (TWILIO_API_KEY_SID/SECRET are not set)."),
            code="telephony_not_configured",
        )
    identity = client_identity(user)
    ttl = settings.HOTLINE_VOICE_TOKEN_TTL
    token = AccessToken(
        settings.TWILIO_ACCOUNT_SID,
        settings.TWILIO_API_KEY_SID,
        settings.TWILIO_API_KEY_SECRET,
        identity=identity,
        ttl=ttl,
    )
    token.add_grant(
        VoiceGrant(
            outgoing_application_sid=settings.TWILIO_TWIML_APP_SID or None, incoming_allow=True
        )
    )
    jwt = token.to_jwt()
    return (jwt.decode() if isinstance(jwt, bytes) else jwt), identity, ttl
