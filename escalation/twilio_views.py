"""Twilio webhooks: responders acknowledge by SMS reply or key press; the alert call's TwiML.

Every view is behind ``twilio_webhook``: a bad X-Twilio-Signature is 403 and nothing is read.
"""

from django import forms
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import Gather, VoiceResponse

from core.telephony import WebhookForm, twilio_webhook
from escalation import services
from escalation.models import OutboundMessage
from hotline import services as hotline_services

LANG = "zh-CN"
PRESS_1 = "确认收到请按1。"


class SmsForm(WebhookForm):
    From = forms.CharField(max_length=40)
    To = forms.CharField(max_length=40, required=False)
    Body = forms.CharField(max_length=1600, required=False)  # Twilio's longest message
    MessageSid = forms.CharField(max_length=64, required=False)


class GatherForm(WebhookForm):
    m = forms.CharField(max_length=64, required=False)  # from the action URL's query
    CallSid = forms.CharField(max_length=64, required=False)
    Digits = forms.CharField(max_length=20, required=False)


def _valid_token(token: str) -> str:
    """A message token as ``OutboundMessage.token`` holds it, else no such message."""
    if len(token) > 64 or "\x00" in token:
        raise Http404
    return token


def _twiml(response) -> HttpResponse:
    return HttpResponse(str(response), content_type="text/xml")


@twilio_webhook
def sms_incoming(request):
    """POST /twilio/sms/incoming/: "1 K7Q2P" or "收到 K7Q2P" acknowledges that leg or alert;
    a text from anyone else is handed to the hotline as a text conversation (started or
    continued, once per MessageSid), answered by the operator through the SDK, not here."""
    form = SmsForm(request.POST)
    if not form.is_valid():
        return form.bad_request()
    data = form.cleaned_data
    if not services.is_acknowledgement(
        phone=data["From"], body=data["Body"], message_sid=data["MessageSid"]
    ):
        hotline_services.receive_sms(
            from_raw=data["From"],
            to_raw=data["To"],
            body=data["Body"],
            message_sid=data["MessageSid"],
        )
        return _twiml(MessagingResponse())
    outcome = services.acknowledge_by_sms(
        phone=form.cleaned_data["From"],
        body=form.cleaned_data["Body"],
        message_sid=form.cleaned_data["MessageSid"],
    )
    response = MessagingResponse()
    if outcome.text:
        response.message(outcome.text)
    return _twiml(response)


def _gather(message: OutboundMessage) -> Gather:
    action = reverse("escalation-twilio:voice-gather") + f"?m={message.token}"
    return Gather(num_digits=1, action=action, method="POST", timeout=10)


@twilio_webhook
def voice_alert(request, token):
    """The TwiML our outbound alert call fetches: read the alert, ask to press 1."""
    message = get_object_or_404(OutboundMessage, token=_valid_token(token))
    response = VoiceResponse()
    gather = _gather(message)
    gather.say(message.body, language=LANG)
    gather.say(PRESS_1, language=LANG)
    response.append(gather)
    response.say("未收到确认，我们将再次联系您。", language=LANG)
    return _twiml(response)


@twilio_webhook
def voice_gather(request):
    """POST /twilio/voice/gather/?m=<token>: pressing 1 acknowledges the leg or alert called for."""
    form = GatherForm({**request.POST.dict(), "m": request.GET.get("m", "")})
    if not form.is_valid():
        return form.bad_request()
    data = form.cleaned_data
    message = OutboundMessage.objects.filter(token=data["m"]).first()
    if message is None:
        sid = data["CallSid"]
        message = OutboundMessage.objects.filter(provider_sid=sid).first() if sid else None
    response = VoiceResponse()
    if message is None or not (message.leg_id or message.alert_id):
        response.say("未找到对应的预警。", language=LANG)
        return _twiml(response)
    if data["Digits"].strip() != "1":
        gather = _gather(message)
        gather.say(PRESS_1, language=LANG)
        response.append(gather)
        return _twiml(response)
    outcome = services.acknowledge_by_call(message)
    response.say(outcome.text or "已确认，谢谢。", language=LANG)
    return _twiml(response)
