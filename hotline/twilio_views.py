"""Twilio voice webhooks (thin: signature checked by the decorator, then one service call).

Plain sync views: under ASGI Django runs each in a thread of its own, several at once.
"""

from django.http import HttpResponse, HttpResponseBadRequest
from django.urls import reverse

from core.errors import DomainError
from core.telephony import twilio_webhook
from hotline import services, voice
from hotline.models import CallChannel


def _twiml(body: str) -> HttpResponse:
    return HttpResponse(body, content_type="text/xml; charset=utf-8")


@twilio_webhook
def incoming(request):
    """A call to 2251885: greet in Chinese and queue it (once per CallSid)."""
    params = request.POST
    call_sid = params.get("CallSid", "")
    if not call_sid:
        return HttpResponseBadRequest("CallSid is required.", content_type="text/plain")
    services.receive_call(
        services.SYSTEM,
        hotline=services.hotline_for_webhook(),
        call_sid=call_sid,
        channel=CallChannel.TWILIO_VOICE,
        from_raw=params.get("From", ""),
        to_raw=params.get("To", ""),
    )
    return _twiml(voice.queue_twiml(reverse("hotline-twilio-wait")))


@twilio_webhook
def wait(request):
    return _twiml(voice.wait_twiml(request.POST.get("QueuePosition", "")))


@twilio_webhook
def status(request):
    """Call progress and completion; an unknown CallSid is 404 and nothing is written."""
    try:
        services.call_status_changed(
            services.SYSTEM,
            call_sid=request.POST.get("CallSid", ""),
            twilio_status=request.POST.get("CallStatus", ""),
        )
    except DomainError as exc:
        return HttpResponse(exc.message, status=exc.status_code, content_type="text/plain")
    return HttpResponse(status=204)
