"""Twilio's status callback for the SMS of a safety plan (thin: signature, form, one service)."""

from django import forms
from django.http import HttpResponse

from core.errors import DomainError
from core.telephony import WebhookForm, twilio_webhook
from hotline.services import safety_plans


class MessageStatusForm(WebhookForm):
    MessageSid = forms.CharField(max_length=64)
    MessageStatus = forms.CharField(max_length=20)


@twilio_webhook
def sms_status(request):
    """queued → sent → delivered (or failed/undelivered); an unknown MessageSid is 404."""
    form = MessageStatusForm(request.POST)
    if not form.is_valid():
        return form.bad_request()
    try:
        safety_plans.sms_status_changed(
            sid=form.cleaned_data["MessageSid"], status=form.cleaned_data["MessageStatus"]
        )
    except DomainError as exc:
        return HttpResponse(exc.message, status=exc.status_code, content_type="text/plain")
    return HttpResponse(status=204)
