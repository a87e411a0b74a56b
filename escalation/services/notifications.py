"""Outbound SMS and voice calls: recorded, then sent by the worker with retries (外呼通知)."""

import logging
from datetime import timedelta

import phonenumbers
from django.conf import settings
from django.utils import timezone
from phonenumber_field.phonenumber import PhoneNumber

from escalation import gateway
from escalation.models import OutboundMessage, Timer
from escalation.services.timers import schedule
from realtime import audiences as aud
from realtime.publish import publish

log = logging.getLogger(__name__)


def e164(number) -> str:
    """One spelling per number (+8613900000014), so a reply's ``From`` matches what was sent."""
    text = str(number or "").strip()
    try:
        parsed = PhoneNumber.from_string(text, region=settings.PHONENUMBER_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return text
    return parsed.as_e164 if parsed.is_valid() else text


def queue_message(channel: str, to: str, body: str, **links) -> OutboundMessage:
    """Record an SMS or voice call and schedule its sending (the worker sends, and retries)."""
    message = OutboundMessage.objects.create(
        channel=channel, to=e164(to), body=body, gateway=gateway.gateway_name(), **links
    )
    schedule(Timer.Kind.SEND, f"send:{message.pk}:1", timezone.now(), message=message)
    return message


def deliver(message_id: int) -> OutboundMessage:
    """Send one queued message through the gateway; on failure retry with backoff, as timers."""
    message = OutboundMessage.objects.select_for_update().get(pk=message_id)
    if message.status not in (OutboundMessage.Status.QUEUED, OutboundMessage.Status.FAILED):
        return message
    message.attempts += 1
    try:
        message.provider_sid = gateway.send(message)
    except Exception as exc:
        log.warning("sending %s to %s failed", message.channel, message.to, exc_info=True)
        message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        backoff = settings.ESCALATION_SEND_BACKOFF
        if message.attempts >= len(backoff) + 1:
            message.status = OutboundMessage.Status.GAVE_UP
        else:
            message.status = OutboundMessage.Status.FAILED
            schedule(
                Timer.Kind.SEND,
                f"send:{message.pk}:{message.attempts + 1}",
                timezone.now() + timedelta(seconds=backoff[message.attempts - 1]),
                message=message,
            )
        message.save()
        _publish_message(message, "message.failed")
        return message
    message.status = OutboundMessage.Status.SENT
    message.sent_at = timezone.now()
    message.last_error = ""
    message.save()
    _publish_message(message, "message.sent")
    return message


def _publish_message(message: OutboundMessage, type_: str) -> None:
    case = None
    if message.dispatch_id:
        case = message.dispatch.case
    elif message.alert_id:
        case = message.alert.case
    audiences = (
        aud.dispatch_runners(case.owning_organisation_id, case.audience_organisation_ids())
        if case
        else set()
    )
    publish(
        type_,
        case=case,
        data={
            "message": message.pk,
            "channel": message.channel,
            "to": message.to,
            "status": message.status,
            "attempts": message.attempts,
            "error": message.last_error,
            "dispatch": message.dispatch_id,
            "leg": message.leg_id,
            "alert": message.alert_id,
        },
        audiences=sorted(audiences) or [aud.AUDIT],
        include_case_audiences=False,
    )
