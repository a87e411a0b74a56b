"""Text conversations (文字会话: SMS and web chat): a conversation is a ``Call`` of a text channel,
so it is queued, offered, accepted, triaged and wrapped up exactly as a phone call; this module
adds its messages.

- ``open_conversation``: the intake of a voice call (person by number, one case per person,
  the same priority), then the pre-chat answers as a system message.
- ``receive_message`` / ``receive_sms``: the person's messages (idempotent by MessageSid).
- ``send_reply``: the operator of the conversation answers (SMS: through the Twilio SDK, split
  into parts, each with a signed status callback; web chat: to the visitor's group).
- ``end_conversation`` and ``sweep`` (the worker's housekeeping): ending, by inactivity too.
- ``resend_message``: 重发, the operator sends a failed reply again (once; the same path).
- ``register_sender``: a channel of its own provider (WeChat, ``hotline.services.wechat``) sends
  its replies and system messages through the function it registers.

Events: ``conversation.message`` / ``conversation.delivery`` (what changed, never the text: the
event log is append-only and kept for ever, the transcript is scrubbed with the person) and
``conversation.typing``, to the operator holding the conversation (or offered it) alone; the
console fetches the transcript.
"""

import logging
import time
import uuid
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from twilio.base.exceptions import TwilioException, TwilioRestException

from core.errors import Conflict, Forbidden, Invalid, NotFound
from core.telephony import twilio_client, twilio_configured
from directory.models import Organisation
from hotline.conversation_models import ContactMessage, DeliveryStatus, MessageDirection
from hotline.conversations import (
    message_frame,
    queue_places,
    queue_position,
    send_to_visitor,
    split_sms,
)
from hotline.events import publish_call
from hotline.models import (
    TEXT_CHANNELS,
    WAITING_STATUSES,
    Call,
    CallChannel,
    CallStatus,
    Person,
)
from hotline.services.calls import (
    INTAKE_ATTEMPTS,
    _end_surge_if_over,
    _enqueue,
    abandon_waiting,
    hotline_for_webhook,
    normalise_number,
)
from hotline.services.cases import SYSTEM
from hotline.services.presence import offer_waiting
from realtime import audiences as aud
from realtime.publish import publish

log = logging.getLogger(__name__)

LIVE_STATUSES = [*WAITING_STATUSES, CallStatus.IN_PROGRESS.value, CallStatus.WRAP_UP.value]
END_REASONS = ("inactivity", "visitor_left", "operator", "expired")
TYPING_EVERY_SECONDS = 3
QUEUE_UPDATE_EVERY_SECONDS = 3
# Later statuses never go back to earlier ones (callbacks may arrive out of order).
STATUS_RANK = {"": 0, "queued": 1, "sending": 1, "accepted": 1, "sent": 2}
FINAL_STATUSES = {"delivered", "failed", "undelivered"}
FAILED_STATUSES = {"failed", "undelivered"}


class Texts:
    """What the person is told by the system (Chinese: the visitors and texters are the public)."""

    SMS_WELCOME = (
        "您好，这里是心理援助热线2251885。您的短信已收到，接线员将尽快回复您。"
        "如果您现在有生命危险，请立即拨打110或120。"
    )
    ENDED_INACTIVITY = (
        "由于较长时间没有新消息，本次对话已结束。如需帮助，欢迎随时再联系我们，或拨打热线2251885。"
    )
    ENDED_OPERATOR = "本次对话已结束。如需帮助，欢迎随时再联系我们，或拨打热线2251885。"
    ENDED_VISITOR = "对方已离开，本次对话已结束。"


PRE_CHAT_LABELS = {
    "age_group": "年龄段",
    "district": "所在区县",
    "safe_now": "现在安全吗",
}


# --- helpers ---------------------------------------------------------------------------------


def _require_text(call: Call) -> None:
    if call.channel not in TEXT_CHANNELS:
        raise Invalid(_("This is a phone call, not a text conversation."), code="not_text")


def _clean_body(body) -> str:
    if not isinstance(body, str):
        raise Invalid(_("A message is text."), fields={"body": [_("Not text.")]})
    body = body.replace("\x00", "").strip()
    if not body:
        raise Invalid(_("The message is empty."), fields={"body": [_("Write a message.")]})
    limit = settings.CHAT_MESSAGE_MAX_CHARS
    if len(body) > limit:
        raise Invalid(
            _("A message may be at most %(n)s characters.") % {"n": limit},
            code="message_too_long",
            fields={"body": [_("At most %(n)s characters.") % {"n": limit}]},
        )
    return body


def message_data(message: ContactMessage) -> dict:
    """The ``data`` of ``conversation.*`` events: what changed, not the text."""
    return {
        "call": message.call_id,
        "message": message.pk,
        "direction": message.direction,
        "at": message.created_at.isoformat(),
        "author_name": str(message.author) if message.author_id else "",
        "delivery_status": message.delivery_status,
        "error_code": message.error_code,
        "resend_of": message.resend_of_id,
    }


def _conversation_audiences(call: Call) -> list[str]:
    """Who is told of a message: the operator holding the conversation and the one it is offered
    to (their console refreshes the transcript). Not the whole centre: a waiting conversation's
    words are read at the offer, and every message of every waiting visitor on every console was
    a fan-out (bench/chat.py) nobody looked at."""
    return sorted({aud.user(pk) for pk in (call.operator_id, call.offered_to_id) if pk})


def _announce(type_: str, message: ContactMessage, actor) -> None:
    call = message.call
    publish(type_, actor=actor, data=message_data(message), audiences=_conversation_audiences(call))
    if call.channel == CallChannel.WEBCHAT and type_ == "conversation.message":
        send_to_visitor(call, message_frame(message))


def _add(call: Call, direction: str, body: str, *, author=None, **fields) -> ContactMessage:
    message = ContactMessage.objects.create(
        call=call, direction=direction, body=body, author=author, **fields
    )
    message.call = call
    _announce("conversation.message", message, author or SYSTEM)
    return message


def _is_open(call: Call) -> bool:
    return call.ended_at is None and call.status in LIVE_STATUSES


# Channels whose messages out go through a provider of their own (SMS here, WeChat registers
# itself): channel -> fn(message_ids), run after the commit (outside any lock) and recording each
# message's delivery. Web chat has none: its messages reach the visitor's page in ``_announce``.
_senders: dict[str, Callable[[list[int]], None]] = {}
# channel -> fn(message): why the channel would refuse the message now (an error code), or "".
_refusals: dict[str, Callable[[ContactMessage], str]] = {}


def register_sender(
    channel: str,
    fn: Callable[[list[int]], None],
    *,
    refusal: Callable[[ContactMessage], str] | None = None,
) -> None:
    _senders[channel] = fn
    if refusal is not None:
        _refusals[channel] = refusal


def _outgoing(call: Call, direction: str, text: str, *, author=None, **fields):
    """What the person is sent, in the transcript: through the channel's sender after the commit
    (queued until it reports; SMS in parts of one segment each, ``split_sms``), or, for web
    chat, one message the visitor's page receives at once."""
    sender = _senders.get(call.channel)
    if sender is None:
        return [_add(call, direction, text, author=author, **fields)]
    texts = split_sms(text) if call.channel == CallChannel.SMS else [text]
    parts = [
        _add(call, direction, part, author=author, delivery_status="queued", **fields)
        for part in texts
    ]
    ids = [m.pk for m in parts]
    transaction.on_commit(lambda: sender(ids))
    return parts


# --- intake ----------------------------------------------------------------------------------


def open_conversation(
    channel: str,
    *,
    hotline: Organisation | None = None,
    from_number: str = "",
    to_number: str = "",
    pre_chat: dict | None = None,
    person: Person | None = None,
) -> Call:
    """A new text conversation in the queue (入队): the person by number (SMS) or a new anonymous
    one (web chat), their one open case, the priority of a call (raised when the pre-chat says
    ``in_danger``: not safe right now); then the pre-chat answers as a system message, which the
    operator reads first. ``person``: already known by the channel (a WeChat openid)."""
    if channel not in TEXT_CHANNELS:
        raise Invalid(_("Not a text channel."), fields={"channel": [_("Unknown value.")]})
    hotline = hotline or hotline_for_webhook()
    prefix = {CallChannel.SMS: "SMS", CallChannel.WECHAT: "WX"}.get(channel, "CHAT")
    call_sid = f"{prefix}-{uuid.uuid4().hex}"
    summary = _pre_chat_summary(pre_chat or {})
    for attempt in range(1, INTAKE_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                call = _enqueue(
                    SYSTEM,
                    hotline=hotline,
                    call_sid=call_sid,
                    channel=channel,
                    from_raw=from_number,
                    to_raw=to_number,
                    notes=summary,
                    not_safe=bool((pre_chat or {}).get("in_danger")),
                    person=person,
                )
                if summary:
                    _add(call, MessageDirection.SYSTEM, summary)
                _queue_update(call)
                return call
        except IntegrityError:
            # The number's SMS thread opened by another text at the same moment: the caller
            # continues that one (``receive_sms``), taking it again here cannot succeed.
            if channel == CallChannel.SMS and open_sms_thread(from_number) is not None:
                raise
            # A person or case opened by another contact at the same moment: take it again.
            if attempt == INTAKE_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def _pre_chat_summary(pre_chat: dict) -> str:
    lines = []
    for key, label in PRE_CHAT_LABELS.items():
        value = pre_chat.get(key)
        if value in (None, ""):
            continue
        if isinstance(value, bool):
            value = "是" if value else "否"
        lines.append(f"{label}：{str(value)[:100]}")
    return "\n".join(lines)


def _queue_update(call: Call) -> None:
    if call.channel != CallChannel.WEBCHAT:
        return
    position, wait = queue_position(call)
    if position:
        send_to_visitor(
            call, {"type": "chat.queue", "position": position, "expected_wait_seconds": wait}
        )


def receive_message(call: Call, body: str, *, provider_sid: str | None = None) -> ContactMessage:
    """A message from the person (visitor or texter). Once per ``provider_sid``: a repeated
    delivery returns the message already recorded. Refused (409) once the conversation ended."""
    _require_text(call)
    body = _clean_body(body)
    if provider_sid:
        existing = ContactMessage.objects.filter(provider_sid=provider_sid).first()
        if existing is not None:
            return existing
    try:
        with transaction.atomic():
            call = Call.objects.select_for_update().get(pk=call.pk)
            if not _is_open(call):
                raise Conflict(_("This conversation has ended."), code="conversation_ended")
            return _add(call, MessageDirection.IN, body, provider_sid=provider_sid or None)
    except IntegrityError:
        existing = ContactMessage.objects.filter(provider_sid=provider_sid).first()
        if existing is None:
            raise
        return existing


def open_sms_thread(from_raw: str):
    """The live SMS conversation with this number, if any (a new text continues it)."""
    number = normalise_number(from_raw)
    match = Q(from_number=number) if number else Q(from_raw=(from_raw or "")[:64])
    return (
        Call.objects.filter(match, channel=CallChannel.SMS, ended_at__isnull=True)
        .filter(status__in=LIVE_STATUSES)
        .order_by("-queued_at", "-pk")
        .first()
    )


def receive_sms(
    *, from_raw: str, to_raw: str, body: str, message_sid: str
) -> ContactMessage | None:
    """An SMS to the hotline number that is not a responder's acknowledgement: it continues the
    number's live conversation or starts one (with a welcome that names 110/120). Once per
    MessageSid. An empty text (a picture alone) records nothing."""
    if message_sid:
        existing = ContactMessage.objects.filter(provider_sid=message_sid).first()
        if existing is not None:
            return existing
    body = (body or "").replace("\x00", "").strip()
    if not body:
        return None
    body = body[: settings.CHAT_MESSAGE_MAX_CHARS]
    call = _sms_thread(from_raw, to_raw, welcome=True)
    try:
        return receive_message(call, body, provider_sid=message_sid or None)
    except Conflict:
        # Ended between the look-up and the lock (inactivity): a new conversation takes it.
        call = _sms_thread(from_raw, to_raw, welcome=False)
        return receive_message(call, body, provider_sid=message_sid or None)


def _sms_thread(from_raw: str, to_raw: str, *, welcome: bool) -> Call:
    """The number's live SMS conversation, or a new one (with the welcome if ``welcome``).
    Two first texts at the same moment both find none and both open one: the database keeps
    one (``one_open_sms_thread_per_number``), and the other text continues it."""
    for attempt in range(1, INTAKE_ATTEMPTS + 1):
        call = open_sms_thread(from_raw)
        if call is not None:
            return call
        try:
            call = open_conversation(CallChannel.SMS, from_number=from_raw, to_number=to_raw)
        except IntegrityError:
            if attempt == INTAKE_ATTEMPTS:
                raise
            continue
        if welcome:
            _system_reply(call, Texts.SMS_WELCOME)
        return call
    raise AssertionError("unreachable")


# --- replies ---------------------------------------------------------------------------------


def _require_conversation_holder(actor, call: Call) -> None:
    if call.operator_id != actor.pk:
        raise Forbidden(_("You do not hold this conversation."), code="not_your_call")
    if call.status not in (CallStatus.IN_PROGRESS, CallStatus.WRAP_UP):
        raise Conflict(
            _("The conversation is %(status)s; you cannot reply now.")
            % {"status": call.get_status_display()},
            code="wrong_call_status",
        )
    if call.ended_at is not None:
        raise Conflict(_("This conversation has ended."), code="conversation_ended")


def send_reply(call: Call, user, body: str) -> ContactMessage:
    """回复: the operator holding the conversation answers. Web chat: one message to the visitor.
    SMS: split into parts of one segment each (``hotline.conversations.split_sms``), each its
    own row, sent through the Twilio SDK after the commit with a signed status callback; the
    last part is returned (``parts`` on it lists them all)."""
    _require_text(call)
    body = _clean_body(body)
    with transaction.atomic():
        call = Call.objects.select_for_update().get(pk=call.pk)
        _require_conversation_holder(user, call)
        parts = _outgoing(call, MessageDirection.OUT, body, author=user)
    message = parts[-1]
    message.parts = parts
    return message


# Why a channel refuses a message now, in words for the operator (a resend would fail alike).
RESEND_REFUSALS = {
    "48h_window": gettext_lazy(
        "WeChat takes no message more than 48 hours after the person last wrote: the person must "
        "write first, then you can reply."
    ),
    "no_openid": gettext_lazy(
        "The person's WeChat identity has been removed; the message cannot be sent."
    ),
    "not_configured": gettext_lazy(
        "The WeChat Official Account is not configured; the message cannot be sent."
    ),
}


def resend_message(call: Call, user, message_id: int) -> ContactMessage:
    """重发: the operator holding the conversation sends a failed reply (SMS failed or not
    delivered, WeChat refused or unreachable) again: a new message with the same body, linked to
    the failed one, which stays failed. Once per failed message; not while the channel would
    refuse it anyway (WeChat's 48 hours: the person must write first)."""
    _require_text(call)
    with transaction.atomic():
        # The call's row lock makes two resends of one message at once one (the second sees
        # ``resent_as``); ``resend_of`` is unique as well.
        call = Call.objects.select_for_update().get(pk=call.pk)
        _require_conversation_holder(user, call)
        failed = ContactMessage.objects.filter(call=call, pk=message_id).first()
        if failed is None:
            raise NotFound(_("No such message in this conversation."), code="unknown_message")
        if failed.direction != MessageDirection.OUT or failed.delivery_status not in (
            FAILED_STATUSES
        ):
            raise Conflict(_("Only a reply that failed can be sent again."), code="not_failed")
        if ContactMessage.objects.filter(resend_of=failed).exists():
            raise Conflict(_("This reply has already been sent again."), code="already_resent")
        failed.call = call
        refusal = _refusals[call.channel](failed) if call.channel in _refusals else ""
        if refusal:
            words = RESEND_REFUSALS.get(refusal) or _(
                "The message cannot be sent now (%(code)s)."
            ) % {"code": refusal}
            raise Conflict(
                str(words), code=refusal if refusal in RESEND_REFUSALS else "cannot_send"
            )
        # A failed SMS was one part already: it goes again as one.
        [message] = _outgoing(
            call, MessageDirection.OUT, failed.body, author=user, resend_of=failed
        )
    return message


def _system_reply(call: Call, text: str) -> list[ContactMessage]:
    """A system message to the person (and in the transcript); by SMS for an SMS thread."""
    with transaction.atomic():
        return _outgoing(call, MessageDirection.SYSTEM, text)


def status_callback_url() -> str:
    base = (settings.TWILIO_WEBHOOK_BASE_URL or settings.ESCALATION_PUBLIC_BASE_URL).rstrip("/")
    return base + reverse("hotline-twilio-sms-status")


def send_sms(message_ids: list[int]) -> None:
    """Send the SMS parts through the Twilio SDK (outside any transaction: a slow provider holds
    no lock), in order, and record the MessageSid and first status of each. Without a Twilio
    account the message is only recorded as sent (the console gateway, as for alerts). A
    refused part is marked failed with Twilio's error code and shows so in the transcript."""
    messages = ContactMessage.objects.filter(pk__in=message_ids).select_related("call")
    for message in messages.order_by("pk"):
        call = message.call
        to = str(call.from_number) if call.from_number else call.from_raw
        sid, status, error = None, "sent", ""
        if twilio_configured():
            try:
                sent = twilio_client().messages.create(
                    to=to,
                    from_=str(call.to_number) if call.to_number else settings.TWILIO_FROM_NUMBER,
                    body=message.body,
                    status_callback=status_callback_url(),
                )
                sid, status = sent.sid, (sent.status or "queued")
            except TwilioRestException as exc:
                log.warning("SMS %s to conversation %s refused", message.pk, call.pk)
                status, error = "failed", str(exc.code or exc.status)[:20]
            except TwilioException:
                log.warning("SMS %s to conversation %s failed", message.pk, call.pk, exc_info=True)
                status, error = "failed", "network"
        else:
            sid = f"CONSOLE-SM{message.pk:08d}"
        with transaction.atomic():
            message = ContactMessage.objects.select_for_update().get(pk=message.pk)
            message.provider_sid = sid
            if STATUS_RANK.get(status, 3) >= STATUS_RANK.get(message.delivery_status, 3) or (
                status in FINAL_STATUSES
            ):
                message.delivery_status = status if status in DeliveryStatus.values else "queued"
            message.error_code = error
            message.save(update_fields=["provider_sid", "delivery_status", "error_code"])
            _announce("conversation.delivery", message, SYSTEM)


register_sender(CallChannel.SMS, send_sms)


def message_status_changed(
    *, provider_sid: str, status: str, error_code: str = ""
) -> ContactMessage:
    """Twilio's status callback of a reply: queued → sent → delivered, or failed/undelivered
    with an error code. Out-of-order or repeated callbacks never move a status back."""
    status = (status or "").lower()
    with transaction.atomic():
        message = (
            ContactMessage.objects.select_for_update()
            .select_related("call")
            .filter(provider_sid=provider_sid)
            .first()
        )
        if message is None:
            raise NotFound(_("Unknown message."), code="unknown_message")
        current = message.delivery_status
        if current in FINAL_STATUSES or status not in DeliveryStatus.values or not status:
            return message
        if status not in FINAL_STATUSES and STATUS_RANK.get(status, 0) <= STATUS_RANK.get(
            current, 0
        ):
            return message
        message.delivery_status = status
        message.error_code = (error_code or "")[:20]
        message.save(update_fields=["delivery_status", "error_code"])
        _announce("conversation.delivery", message, SYSTEM)
    return message


# --- typing, ending, the sweep ---------------------------------------------------------------


def visitor_typing(call: Call) -> None:
    """The person is typing: the operator holding the conversation sees it (at most one event
    every few seconds; nothing while nobody holds it)."""
    if call.operator_id is None or call.ended_at is not None:
        return
    if not cache.add(f"typing:visitor:{call.pk}", 1, TYPING_EVERY_SECONDS):
        return
    with transaction.atomic():
        publish(
            "conversation.typing",
            actor=None,
            data={"call": call.pk, "who": "visitor"},
            audiences=[aud.user(call.operator_id)],
        )


def operator_typing(call: Call, user) -> None:
    """The operator is typing: the web-chat visitor sees it (not kept: nothing to replay)."""
    _require_text(call)
    if call.operator_id != user.pk:
        raise Forbidden(_("You do not hold this conversation."), code="not_your_call")
    if (
        call.channel == CallChannel.WEBCHAT
        and call.ended_at is None
        and cache.add(f"typing:operator:{call.pk}", 1, TYPING_EVERY_SECONDS)
    ):
        send_to_visitor(call, {"type": "chat.typing"})


def end_conversation(call: Call, *, reason: str, by_user=None) -> Call:
    """结束会话: by the operator holding it, the visitor leaving, or inactivity. Waiting, it is
    abandoned (nobody to call back: the person may write again); answered, it stays with the
    operator for triage and wrap-up as a call whose caller hung up. Both sides get a system
    message. Ending twice changes nothing."""
    _require_text(call)
    if reason not in END_REASONS:
        raise Invalid(_("Unknown reason."), fields={"reason": [_("Unknown value.")]})
    now = timezone.now()
    with transaction.atomic():
        call = Call.objects.select_for_update().get(pk=call.pk)
        if by_user is not None and call.operator_id != by_user.pk:
            raise Forbidden(_("You do not hold this conversation."), code="not_your_call")
        if not _is_open(call):
            return call
        actor = by_user or SYSTEM
        text = {
            "inactivity": Texts.ENDED_INACTIVITY,
            "visitor_left": Texts.ENDED_VISITOR,
        }.get(reason, Texts.ENDED_OPERATOR)
        if call.status in WAITING_STATUSES:
            abandon_waiting(call, actor, now, reason=reason)
            _end_surge_if_over(call.hotline_id, actor)
            offer_waiting(call.hotline_id, actor)
        else:
            call.ended_at = now
            call.save(update_fields=["ended_at"])
            publish_call("call.ended", call, actor, reason=reason)
        if reason != "visitor_left" or call.channel != CallChannel.SMS:
            _system_reply(call, text)
        if call.channel == CallChannel.WEBCHAT:
            send_to_visitor(call, {"type": "chat.ended", "reason": reason})
    return call


_last_queue_update = {"at": float("-inf")}
_places_told: dict[int, tuple[int, int]] = {}  # this worker's last place told to each visitor


def tell_queue_places() -> int:
    """Tell each waiting web-chat visitor their place when it changed (or the wait, to the
    minute the page shows), not every visitor every time: two reads a centre."""
    centres = set(
        Call.objects.filter(
            channel=CallChannel.WEBCHAT, status__in=WAITING_STATUSES, ended_at__isnull=True
        ).values_list("hotline_id", flat=True)
    )
    places = {}
    for centre in centres:
        places.update(queue_places(centre))
    told = 0
    for call_id, (position, wait) in places.items():
        shown = (position, round(wait / 60))
        if _places_told.get(call_id) == shown:
            continue
        _places_told[call_id] = shown
        send_to_visitor(
            call_id, {"type": "chat.queue", "position": position, "expected_wait_seconds": wait}
        )
        told += 1
    for call_id in set(_places_told) - set(places):
        del _places_told[call_id]
    return told


def sweep(now=None) -> int:
    """The worker's housekeeping: answered conversations with no message for
    ``CHAT_INACTIVITY_MINUTES`` end (a waiting one is never ended for the person's silence: they
    are waiting for us); waiting web-chat visitors hear a new place within a few seconds."""
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=settings.CHAT_INACTIVITY_MINUTES)
    live = (
        Call.objects.filter(
            channel__in=TEXT_CHANNELS,
            ended_at__isnull=True,
            status__in=[CallStatus.IN_PROGRESS, CallStatus.WRAP_UP],
            answered_at__lte=cutoff,
        )
        .annotate(
            last_message=Max(
                "messages__created_at",
                filter=Q(messages__direction__in=[MessageDirection.IN, MessageDirection.OUT]),
            )
        )
        .filter(Q(last_message__isnull=True) | Q(last_message__lte=cutoff))
    )
    ended = 0
    for call in list(live):
        end_conversation(call, reason="inactivity")
        ended += 1
    clock = time.monotonic()
    if clock >= _last_queue_update["at"] + QUEUE_UPDATE_EVERY_SECONDS:
        _last_queue_update["at"] = clock
        tell_queue_places()
    return ended


def transcript(call: Call, *, after: int = 0):
    """The conversation's messages in order (after message id ``after``)."""
    return (
        call.messages.filter(pk__gt=after)
        .select_related("author", "resent_as")
        .order_by("created_at", "pk")
    )
