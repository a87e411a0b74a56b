"""Twilio webhooks: responders acknowledge by SMS reply or key press; the alert call's TwiML."""

import re

from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from phonenumber_field.phonenumber import PhoneNumber
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import Gather, VoiceResponse

from core.errors import DomainError
from core.telephony import twilio_webhook
from directory.models import Membership, User
from escalation import services
from escalation.models import Alert, DispatchLeg, InboundMessage, OutboundMessage

ACK_WORDS = re.compile(r"^\s*(1|收到|确认|好的?|ok|OK|yes|YES)\b|^\s*(1|收到|确认)")
CODE = re.compile(r"\b([A-Z0-9]{5})\b")
LANG = "zh-CN"


def _twiml(response) -> HttpResponse:
    return HttpResponse(str(response), content_type="text/xml")


def _sms(text: str) -> HttpResponse:
    response = MessagingResponse()
    response.message(text)
    return _twiml(response)


def _normalise(number: str) -> str:
    try:
        parsed = PhoneNumber.from_string(number, region="CN")
        return parsed.as_e164 if parsed.is_valid() else number
    except Exception:
        return number


def _phone_may_ack(phone: str, target) -> bool:
    """The reply must come from a number the alert was sent to, or a member of its organisation."""
    messages = OutboundMessage.objects.filter(to=phone)
    if isinstance(target, DispatchLeg):
        if messages.filter(leg=target).exists():
            return True
        org_id = target.organisation_id
    else:
        if messages.filter(alert=target).exists():
            return True
        org_id = target.target_organisation_id
    return Membership.objects.active().filter(organisation_id=org_id, user__phone=phone).exists()


def _outstanding_for(phone: str):
    """With no code in the reply: the single leg or alert still waiting on this number."""
    legs = {
        m.leg
        for m in OutboundMessage.objects.filter(to=phone, leg__state="notified").select_related(
            "leg"
        )
    }
    alerts = {
        m.alert
        for m in OutboundMessage.objects.filter(to=phone, alert__state="open").select_related(
            "alert"
        )
    }
    found = list(legs) + list(alerts)
    return found[0] if len(found) == 1 else None


@twilio_webhook
def sms_incoming(request):
    """POST /twilio/sms/incoming/: "1 K7Q2P" or "收到 K7Q2P" acknowledges that leg or alert."""
    sid = request.POST.get("MessageSid", "")
    phone = _normalise(request.POST.get("From", ""))
    body = request.POST.get("Body", "").strip()
    if sid and InboundMessage.objects.filter(message_sid=sid).exists():
        return _twiml(MessagingResponse())  # a repeated delivery: already handled
    known = (
        User.objects.filter(phone=phone, is_active=True).exists()
        or OutboundMessage.objects.filter(to=phone).exists()
    )
    if not known:
        return _sms(
            "您好，这里是心理援助热线预警系统。本号码未登记，无法处理您的回复。如需帮助请拨打2251885。"
        )
    match = CODE.search(body.upper())
    target = services.find_by_code(match.group(1)) if match else _outstanding_for(phone)
    if target is None or not ACK_WORDS.search(body) or not _phone_may_ack(phone, target):
        return _sms("未能识别您的确认。请回复“1 确认码”（确认码见预警短信）。")
    try:
        with transaction.atomic():
            InboundMessage.objects.create(
                message_sid=sid or f"nosid:{phone}:{body}"[:64],
                from_number=phone,
                body=body,
                leg=target if isinstance(target, DispatchLeg) else None,
                alert=target if isinstance(target, Alert) else None,
            )
            _acknowledge(target, via="sms", phone=phone)
    except IntegrityError:
        return _twiml(MessagingResponse())
    except DomainError as exc:
        return _sms(f"{exc.message}")
    return _sms("已确认收到，谢谢。请尽快处置并在控制台更新进展。")


def _acknowledge(target, *, via: str, phone: str) -> None:
    user = User.objects.filter(phone=phone, is_active=True).first()
    actor = user if user and _member_of_target(user, target) else None
    if isinstance(target, DispatchLeg):
        services.acknowledge_leg(actor, target, via=via, phone=phone)
    else:
        services.acknowledge_alert(actor, target, via=via, phone=phone)


def _member_of_target(user, target) -> bool:
    from escalation.selectors import can_act_on_alert, can_act_on_leg

    if isinstance(target, DispatchLeg):
        return can_act_on_leg(user, target)
    return can_act_on_alert(user, target)


def _gather_url(message: OutboundMessage) -> str:
    return reverse("escalation-twilio:voice-gather") + f"?m={message.token}"


@twilio_webhook
def voice_alert(request, token):
    """The TwiML our outbound alert call fetches: read the alert, ask to press 1."""
    message = get_object_or_404(OutboundMessage, token=token)
    response = VoiceResponse()
    gather = Gather(num_digits=1, action=_gather_url(message), method="POST", timeout=10)
    gather.say(message.body, language=LANG)
    gather.say("确认收到请按1。", language=LANG)
    response.append(gather)
    response.say("未收到确认，我们将再次联系您。", language=LANG)
    return _twiml(response)


@twilio_webhook
def voice_gather(request):
    """POST /twilio/voice/gather/?m=<token>: pressing 1 acknowledges the leg or alert called for."""
    message = OutboundMessage.objects.filter(token=request.GET.get("m", "")).first()
    if message is None:
        sid = request.POST.get("CallSid", "")
        message = OutboundMessage.objects.filter(provider_sid=sid).first() if sid else None
    response = VoiceResponse()
    if message is None or not (message.leg_id or message.alert_id):
        response.say("未找到对应的预警。", language=LANG)
        return _twiml(response)
    if request.POST.get("Digits") != "1":
        gather = Gather(num_digits=1, action=_gather_url(message), method="POST", timeout=10)
        gather.say("确认收到请按1。", language=LANG)
        response.append(gather)
        return _twiml(response)
    target = message.leg or message.alert
    try:
        _acknowledge(target, via="voice", phone=message.to)
    except DomainError:
        response.say("该预警已被确认。谢谢。", language=LANG)
        return _twiml(response)
    response.say("已确认，谢谢。请尽快处置。", language=LANG)
    return _twiml(response)
