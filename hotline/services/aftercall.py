"""After the call (话后): the optional SMS with the hotline's numbers, sent only with the consent
asked on the call and never to a withheld number; its delivery status from Twilio's callback."""

import logging

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from twilio.base.exceptions import TwilioException

from core.errors import Invalid
from core.telephony import twilio_client, twilio_configured
from hotline.events import publish_call
from hotline.models import Call, PostCallSms

log = logging.getLogger(__name__)

# Short, in Chinese, the numbers a caller may need later; the appointment line books counselling.
POST_CALL_SMS_TEXT = (
    "【南太湖心航心理援助热线】感谢您的来电。需要时请随时联系我们："
    "心理援助热线 2251885；心理咨询预约 2259885；全国心理援助热线 12356。"
    "如遇紧急危险，请立即拨打 110 或 120。"
)
FINAL_STATUSES = {"delivered", "undelivered", "failed"}


def check_sms_consent(call: Call, consent: bool) -> None:
    """Refuse (400, nothing changed) a consent for a call whose number is withheld or unknown."""
    if consent and not call.from_number:
        raise Invalid(
            _("The caller's number is withheld: no SMS can be sent."),
            fields={"sms_consent": [_("The caller's number is withheld.")]},
            code="number_withheld",
        )


def _status_callback_url() -> str:
    base = (settings.TWILIO_WEBHOOK_BASE_URL or settings.ESCALATION_PUBLIC_BASE_URL).rstrip("/")
    return base + reverse("hotline-twilio-post-call-sms-status")


def record_post_call_sms(actor, call: Call) -> PostCallSms:
    """In the wrap-up's transaction: the message to send once the wrap-up has committed."""
    return PostCallSms.objects.create(
        call=call,
        to=call.from_number,
        body=POST_CALL_SMS_TEXT,
        gateway="twilio" if twilio_configured() else "console",
        sent_by=actor,
    )


def send_post_call_sms(actor, sms: PostCallSms) -> PostCallSms:
    """Send it through Twilio's Messages API (outside the wrap-up's locks: a slow request must
    not hold them); without an account the console gateway records it as sent."""
    sid, status, error = f"CONSOLE-SMS-{sms.pk}", "sent", ""
    if sms.gateway == "twilio":
        try:
            sent = twilio_client().messages.create(
                to=str(sms.to),
                from_=settings.TWILIO_FROM_NUMBER,
                body=sms.body,
                status_callback=_status_callback_url(),
            )
            sid, status = sent.sid, sent.status or "queued"
        except TwilioException as exc:
            log.warning("post-call SMS %s failed", sms.pk, exc_info=True)
            sid, status, error = "", "failed", str(exc)[:200]
    with transaction.atomic():
        sms.provider_sid, sms.status, sms.error = sid, status, error
        sms.status_at = timezone.now()
        sms.save(update_fields=["provider_sid", "status", "error", "status_at"])
        call = Call.objects.select_related("case").get(pk=sms.call_id)
        said = {"sms": sms.pk, "to": str(sms.to), "status": status}
        if status == "failed":
            publish_call("call.sms_failed", call, actor, **said)
        else:
            publish_call("call.sms_sent", call, actor, **said)
    return sms


def sms_status_changed(*, message_sid: str, status: str) -> PostCallSms | None:
    """Twilio's status callback for a post-call SMS; unknown SIDs and repeats change nothing.
    An SMS that finally failed goes on the case's timeline."""
    with transaction.atomic():
        sms = PostCallSms.objects.select_for_update().filter(provider_sid=message_sid).first()
        if sms is None or sms.status == status or sms.status in FINAL_STATUSES:
            return sms
        sms.status = status[:20]
        sms.status_at = timezone.now()
        sms.save(update_fields=["status", "status_at"])
        if status in ("undelivered", "failed"):
            call = Call.objects.select_related("case").get(pk=sms.call_id)
            publish_call("call.sms_failed", call, None, sms=sms.pk, to=str(sms.to), status=status)
    return sms
