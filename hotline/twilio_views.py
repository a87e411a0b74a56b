"""Twilio voice webhooks (thin: signature checked by the decorator, the parameters by a form,
then one service call).

Plain sync views: under ASGI Django runs each in a thread of its own, several at once. The
incoming call never goes unanswered: if the database cannot take it, the caller is put
through by the fallback TwiML and the call is spooled (``hotline.outage``). Twilio's "fallback
URL" for the number points at ``fallback``, which answers the same without the database.
"""

import logging

from django import forms
from django.db import DatabaseError
from django.http import HttpResponse
from django.urls import reverse

from core.errors import DomainError
from core.telephony import WebhookForm, twilio_webhook
from hotline import conference, outage, services, voice
from hotline.models import CallChannel
from hotline.services import aftercall, conversations, recording
from hotline.services import conference as conference_services

log = logging.getLogger(__name__)

# Twilio's numbers and client ids are short; the columns hold 64 (``Call.from_raw``).
NUMBER = {"max_length": 64, "required": False}


class IncomingForm(WebhookForm):
    CallSid = forms.CharField(max_length=64)
    From = forms.CharField(**NUMBER)
    To = forms.CharField(**NUMBER)


class WaitForm(WebhookForm):
    QueuePosition = forms.IntegerField(min_value=0, max_value=100_000, required=False)


class StatusForm(WebhookForm):
    CallSid = forms.CharField(max_length=64)
    CallStatus = forms.CharField(max_length=20)


class RecordingForm(WebhookForm):
    call = forms.IntegerField(min_value=1)
    RecordingSid = forms.CharField(max_length=64)
    RecordingStatus = forms.CharField(max_length=20)
    RecordingDuration = forms.IntegerField(min_value=0, required=False)


class SmsStatusForm(WebhookForm):
    MessageSid = forms.CharField(max_length=64)
    MessageStatus = forms.CharField(max_length=20)
    ErrorCode = forms.CharField(max_length=20, required=False)


class DialForm(WebhookForm):
    DialCallStatus = forms.CharField(max_length=20, required=False)


def _twiml(body: str) -> HttpResponse:
    return HttpResponse(body, content_type="text/xml; charset=utf-8")


def _fallback(*, retry: bool = False) -> HttpResponse:
    return _twiml(
        voice.fallback_twiml(
            reverse("hotline-twilio-wait"), reverse("hotline-twilio-fallback-dial"), retry=retry
        )
    )


@twilio_webhook
def incoming(request):
    """A call to 2251885: greet in Chinese and queue it (once per CallSid); if the database
    fails, put the caller through anyway and spool the call for later."""
    form = IncomingForm(request.POST)
    if not form.is_valid():
        return form.bad_request()
    data = form.cleaned_data
    try:
        call, _created = services.receive_call(
            services.SYSTEM,
            hotline=services.hotline_for_webhook(data["To"]),
            call_sid=data["CallSid"],
            channel=CallChannel.TWILIO_VOICE,
            from_raw=data["From"],
            to_raw=data["To"],
        )
        announcement = recording.announce_recording(call, data["To"])
        queue_name = services.route_on_arrival(call)  # a closed centre's partner (溢出)
    except DatabaseError as exc:
        log.error("database unavailable; call %s put through by the fallback", data["CallSid"])
        outage.spool_call(
            call_sid=data["CallSid"],
            from_raw=data["From"],
            to_raw=data["To"],
            duty_phone=voice.fallback_number(),
            error=f"{type(exc).__name__}: {exc}",
        )
        return _fallback()
    return _twiml(voice.queue_twiml(reverse("hotline-twilio-wait"), announcement, queue_name))


@twilio_webhook
def fallback(request):
    """Twilio's fallback URL for the number (when ``incoming`` fails or times out): the caller
    is put through without touching the database, and the call is spooled."""
    form = IncomingForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        outage.spool_call(
            call_sid=data["CallSid"],
            from_raw=data["From"],
            to_raw=data["To"],
            duty_phone=voice.fallback_number(),
            error=request.POST.get("ErrorCode", "")[:20] or "fallback URL",
        )
    # Even a malformed request gets the caller through: this is the last line.
    return _fallback()


@twilio_webhook
def fallback_dial(request):
    """The duty phone's <Dial> ended: hang up after a conversation, else dial it again."""
    form = DialForm(request.POST)
    status = form.cleaned_data["DialCallStatus"] if form.is_valid() else ""
    return _twiml(
        voice.after_fallback_dial_twiml(
            status, reverse("hotline-twilio-wait"), reverse("hotline-twilio-fallback-dial")
        )
    )


@twilio_webhook
def wait(request):
    form = WaitForm(request.POST)
    if not form.is_valid():
        return form.bad_request()
    return _twiml(voice.wait_twiml(form.cleaned_data["QueuePosition"]))


@twilio_webhook
def status(request):
    """Call progress and completion; an unknown CallSid is 404 and nothing is written."""
    form = StatusForm(request.POST)
    if not form.is_valid():
        return form.bad_request()
    try:
        services.call_status_changed(
            services.SYSTEM,
            call_sid=form.cleaned_data["CallSid"],
            twilio_status=form.cleaned_data["CallStatus"],
        )
    except DomainError as exc:
        return HttpResponse(exc.message, status=exc.status_code, content_type="text/plain")
    return HttpResponse(status=204)


@twilio_webhook
def post_call_sms_status(request):
    """A post-call SMS's delivery status; an unknown MessageSid changes nothing."""
    form = SmsStatusForm(request.POST)
    if not form.is_valid():
        return form.bad_request()
    aftercall.sms_status_changed(
        message_sid=form.cleaned_data["MessageSid"], status=form.cleaned_data["MessageStatus"]
    )
    return HttpResponse(status=204)


@twilio_webhook
def recording_status(request):
    """A recording of a call is complete: copy it here and delete it at Twilio, once per
    RecordingSid. The call is named in the callback URL (``?call=``), which Twilio signs."""
    form = RecordingForm({**request.POST.dict(), "call": request.GET.get("call")})
    if not form.is_valid():
        return form.bad_request()
    data = form.cleaned_data
    if data["RecordingStatus"] != "completed":
        return HttpResponse(status=204)  # "absent"/"failed": nothing to keep
    try:
        recording.recording_completed(
            data["call"],
            recording_sid=data["RecordingSid"],
            duration=data["RecordingDuration"] or 0,
        )
    except DomainError as exc:
        return HttpResponse(exc.message, status=exc.status_code, content_type="text/plain")
    return HttpResponse(status=204)


class ConferenceForm(WebhookForm):
    FriendlyName = forms.CharField(max_length=64)
    ConferenceSid = forms.CharField(max_length=64, required=False)
    StatusCallbackEvent = forms.CharField(max_length=40)
    CallSid = forms.CharField(max_length=64, required=False)
    ParticipantLabel = forms.CharField(max_length=64, required=False)
    Hold = forms.NullBooleanField(required=False)
    Muted = forms.NullBooleanField(required=False)


@twilio_webhook
def conference_status(request):
    """The conference's status callbacks (legs joining and leaving, the conference ending); an
    unknown conference is 404 and nothing is written."""
    form = ConferenceForm(request.POST)
    if not form.is_valid():
        return form.bad_request()
    data = form.cleaned_data
    try:
        conference_services.conference_event(
            services.SYSTEM,
            name=data["FriendlyName"],
            conference_sid=data["ConferenceSid"],
            event=data["StatusCallbackEvent"],
            call_sid=data["CallSid"],
            label=data["ParticipantLabel"],
            hold=data["Hold"],
            muted=data["Muted"],
        )
    except DomainError as exc:
        return HttpResponse(exc.message, status=exc.status_code, content_type="text/plain")
    return HttpResponse(status=204)


@twilio_webhook
def hold_music(request):
    """What a held (or not yet connected) caller hears in the conference."""
    return _twiml(conference.hold_music_twiml())


@twilio_webhook
def sms_status(request):
    """POST /twilio/sms/status/: the delivery of a reply in a text conversation (queued, sent,
    delivered, failed, undelivered); an unknown MessageSid is 404 and nothing is written."""
    form = SmsStatusForm(request.POST)
    if not form.is_valid():
        return form.bad_request()
    data = form.cleaned_data
    try:
        conversations.message_status_changed(
            provider_sid=data["MessageSid"],
            status=data["MessageStatus"],
            error_code=data["ErrorCode"],
        )
    except DomainError as exc:
        return HttpResponse(exc.message, status=exc.status_code, content_type="text/plain")
    return HttpResponse(status=204)
