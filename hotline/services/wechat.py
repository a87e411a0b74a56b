"""WeChat Official Account conversations (微信公众号文字会话): the SMS thread's rules for an openid.

- ``receive_wechat``: a text message from an openid continues that openid's live conversation or
  starts one (the person found by ``PersonWeChat``, their one open case, a welcome naming
  110/120 returned as the callback's passive reply); once per MsgId.
- ``send_wechat``: the operator's replies and the system messages, registered as the channel's
  sender with ``conversations.register_sender``: through wechatpy's customer-service message API
  (客服消息), allowed within 48 hours of the person's last message; a refusal marks the message
  failed with WeChat's error code, shown in the transcript.

The openid is kept as ``wechat:<openid>`` in the call's ``from_raw`` (as a number is, and blanked
with it at retention) and in ``PersonWeChat`` (deleted at retention).
"""

import logging
from datetime import timedelta

import requests
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from wechatpy.exceptions import WeChatClientException

from core.errors import Conflict
from hotline.conversation_models import ContactMessage, DeliveryStatus, MessageDirection
from hotline.models import Call, CallChannel, Person, PersonWeChat
from hotline.services.cases import SYSTEM
from hotline.services.conversations import (
    LIVE_STATUSES,
    _add,
    _announce,
    open_conversation,
    receive_message,
    register_sender,
)
from hotline.wechat import wechat_client, wechat_configured

log = logging.getLogger(__name__)

PREFIX = "wechat:"
# WeChat accepts customer-service messages for 48 hours after the person's last message.
REPLY_WINDOW = timedelta(hours=48)


class Texts:
    """What the person is told by the system (Chinese: the public)."""

    WELCOME = (
        "您好，这里是心理援助热线2251885。您的消息已收到，接线员将尽快回复您。"
        "如果您现在有生命危险，请立即拨打110或120。"
    )
    SUBSCRIBE = (
        "感谢关注心理援助热线。需要倾诉或帮助时，直接在这里发文字消息，接线员会回复您；"
        "也可以拨打热线2251885。如果您现在有生命危险，请立即拨打110或120。"
    )
    TEXT_ONLY = (
        "目前只能接收文字消息，请用文字告诉我们您的情况。如果您现在有生命危险，请立即拨打110或120。"
    )


def person_for_openid(openid: str) -> Person:
    """The person this openid names, or a new anonymous one (一人一例: one openid, one person)."""
    found = PersonWeChat.objects.filter(openid=openid).select_related("person").first()
    if found is not None:
        return found.person
    try:
        with transaction.atomic():
            person = Person.objects.create(is_anonymous=True)
            PersonWeChat.objects.create(person=person, openid=openid)
            return person
    except IntegrityError:
        # The same new openid's first message twice at once: the other insert won.
        return PersonWeChat.objects.select_related("person").get(openid=openid).person


def open_wechat_thread(openid: str) -> Call | None:
    """The openid's live conversation, if any (a new message continues it)."""
    return (
        Call.objects.filter(
            channel=CallChannel.WECHAT,
            from_raw=PREFIX + openid,
            ended_at__isnull=True,
            status__in=LIVE_STATUSES,
        )
        .order_by("-queued_at", "-pk")
        .first()
    )


def _thread(openid: str) -> tuple[Call, bool]:
    """The openid's live conversation or a new one: (call, new). The person's row lock makes two
    first messages at once open one conversation."""
    with transaction.atomic():
        person = Person.objects.select_for_update().get(pk=person_for_openid(openid).pk)
        call = open_wechat_thread(openid)
        if call is not None:
            return call, False
        call = open_conversation(CallChannel.WECHAT, from_number=PREFIX + openid, person=person)
        # Sent as the callback's passive reply (被动回复), not through the API.
        _add(call, MessageDirection.SYSTEM, Texts.WELCOME, delivery_status=DeliveryStatus.SENT)
        return call, True


def receive_wechat(*, openid: str, body: str, msg_id: str) -> tuple[ContactMessage | None, str]:
    """A text message to the Official Account: (the message recorded, the passive reply to give:
    the welcome when it opened a conversation, else ""). Once per MsgId: a retry returns the
    message already recorded and no reply. An empty text records nothing."""
    provider_sid = f"WX-{msg_id}" if msg_id else None
    if provider_sid:
        existing = ContactMessage.objects.filter(provider_sid=provider_sid).first()
        if existing is not None:
            return existing, ""
    body = (body or "").replace("\x00", "").strip()
    if not body:
        return None, ""
    body = body[: settings.CHAT_MESSAGE_MAX_CHARS]
    call, new = _thread(openid)
    try:
        message = receive_message(call, body, provider_sid=provider_sid)
    except Conflict:
        # Ended between the look-up and the lock (inactivity): a new conversation takes it.
        call, new = _thread(openid)
        message = receive_message(call, body, provider_sid=provider_sid)
    return message, (Texts.WELCOME if new else "")


def _refusal(message: ContactMessage, now) -> str:
    """Why the message cannot go out (an error code), or "" when it may be sent."""
    if not wechat_configured():
        return "not_configured"
    if not message.call.from_raw.startswith(PREFIX):
        return "no_openid"  # anonymised meanwhile
    last_in = message.call.messages.filter(direction=MessageDirection.IN).aggregate(
        at=Max("created_at")
    )["at"]
    if last_in is None or now - last_in > REPLY_WINDOW:
        return "48h_window"
    return ""


def send_wechat(message_ids: list[int]) -> None:
    """Send queued messages to the person with ``WeChatClient.message.send_text`` (outside any
    transaction: a slow API holds no lock), in order, and record each as sent or failed (with
    WeChat's errcode, "48h_window" past the 48 hours, "network"). Never raises: the operator's
    request has already committed the reply."""
    messages = ContactMessage.objects.filter(pk__in=message_ids).select_related("call")
    for message in messages.order_by("pk"):
        status, error = DeliveryStatus.SENT, _refusal(message, timezone.now())
        if not error:
            try:
                wechat_client().message.send_text(
                    message.call.from_raw.removeprefix(PREFIX), message.body
                )
            except WeChatClientException as exc:
                log.warning("WeChat message %s refused: %s", message.pk, exc.errcode)
                error = str(exc.errcode or "api")[:20]
            except requests.RequestException:
                log.warning("WeChat message %s failed", message.pk, exc_info=True)
                error = "network"
        if error:
            status = DeliveryStatus.FAILED
        with transaction.atomic():
            message = ContactMessage.objects.select_for_update().get(pk=message.pk)
            message.delivery_status = status
            message.error_code = error
            message.save(update_fields=["delivery_status", "error_code"])
            _announce("conversation.delivery", message, SYSTEM)


def resend_refusal(message: ContactMessage) -> str:
    """Why a failed message would be refused again now (the 48 hours: the person must write)."""
    return _refusal(message, timezone.now())


register_sender(CallChannel.WECHAT, send_wechat, refusal=resend_refusal)
