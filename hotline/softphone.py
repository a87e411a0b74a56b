"""The console's softphone (浏览器软电话): the Twilio Voice JS SDK's page policy and its words.

The SDK itself is vendored (static/vendor/twilio-voice); static/js/softphone.js drives it.
"""

import functools
import re

from csp.decorators import csp_update
from django.conf import settings
from django.utils.translation import gettext as _

from hotline.models import Device, OperatorPresence

_EDGE = re.compile(r"^[a-z0-9-]+$")


def edges() -> list[str]:
    """``TWILIO_VOICE_EDGE``: one edge ID or several, comma-separated (the SDK tries them in
    order)."""
    named = [e.strip() for e in settings.TWILIO_VOICE_EDGE.split(",")]
    return [e for e in named if _EDGE.match(e)] or ["roaming"]


def softphone_csp() -> dict:
    """What the SDK's README ("Content Security Policy") asks for, less its script-src hosts
    (the script is served from this site); the signalling host follows the edge."""
    return {
        "connect-src": [
            "https://eventgw.twilio.com",
            "https://media.twiliocdn.com",
            "https://sdk.twilio.com",
            *(f"wss://voice-js.{edge}.twilio.com" for edge in edges()),
        ],
        "media-src": ["mediastream:", "https://media.twiliocdn.com", "https://sdk.twilio.com"],
    }


def with_softphone_policy(view):
    """The console page's policy adds the SDK's hosts (read per request, so it follows the
    settings); every other page keeps the strict one."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        return csp_update(softphone_csp())(view)(request, *args, **kwargs)

    return wrapped


def softphone_config(user) -> dict:
    """The script's settings and words (json_script on the console page)."""
    presence = OperatorPresence.objects.filter(user=user).only("device").first()
    return {
        "edge": edges(),
        "device": presence.device if presence else Device.BROWSER,
        "desk_phone": str(user.desk_phone) if user.desk_phone else "",
        "sip_address": user.sip_address,
        "devices": dict(Device.choices),
        "messages": {
            "starting": _("Starting the phone…"),
            "ready": _("Ready: calls ring here"),
            "offline": _("Not connected; reconnecting…"),
            "ringing": _("Incoming call: answer it"),
            "connecting": _("Connecting…"),
            "in_call": _("On the call"),
            "on_hold": _("Caller on hold (hears music)"),
            "elsewhere": _("Calls ring your %s"),
            "mute": _("Mute"),
            "unmute": _("Unmute"),
            "hold": _("Hold"),
            "resume": _("Resume"),
            "answer": _("Answer"),
            "hang_up": _("Hang up"),
            "decline": _("Decline"),
            "default_device": _("Default"),
            "no_output_choice": _("This browser plays through its default speaker."),
            "unavailable": _("Browser calling is unavailable."),
            "not_configured": _("Browser calling is not set up on this server."),
            "sdk_missing": _("The phone script did not load."),
            "device_error": _("The browser phone failed (%s)."),
            "fallback_desk": _("Calls will ring your desk phone %s."),
            "fallback_sip": _("Calls will ring your SIP address %s."),
            "fallback_none": _(
                "Your profile has no desk phone or SIP address: ask the coordinator to add one, "
                "or calls cannot reach you."
            ),
            "offer_desk": _("Take calls on your desk phone %s instead: choose it below."),
            "offer_sip": _("Take calls on your SIP address %s instead: choose it below."),
            "mic_denied": _(
                "The microphone is blocked for this site: allow it in the browser's address bar "
                "(the lock icon), or the caller will not hear you."
            ),
            "mic_missing": _(
                "This page cannot use a microphone (it needs HTTPS and a microphone)."
            ),
            "mic_failed": _("The microphone could not be opened: check that one is plugged in."),
            "network_error": _("The server could not be reached; try again."),
            "warnings": {
                "high-rtt": _("Network delay is high: the caller may hear you late."),
                "high-jitter": _("The connection is unsteady: speech may break up."),
                "high-packet-loss": _("Sound is being lost on the network: speech may break up."),
                "high-packets-lost-fraction": _(
                    "Sound is being lost on the network: speech may break up."
                ),
                "low-mos": _("Call quality is poor."),
                "low-bytes-received": _("No sound is arriving from the caller."),
                "low-bytes-sent": _("No sound is leaving your microphone."),
                "ice-connectivity-lost": _("The connection dropped; reconnecting…"),
                "constant-audio-input-level": _(
                    "Your microphone seems silent: check it is not muted or unplugged."
                ),
                "constant-audio-output-level": _("No sound from the caller."),
            },
            "warning_other": _("Call quality warning (%s)."),
        },
    }
