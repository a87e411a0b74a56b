"""Acknowledgement by reply (短信/语音确认): "1 CODE" or "收到 CODE" from a number the leg or
alert was sent to, or the key press 1 on its alert call.

Only the numbers a leg or alert went to (and the registered phones of the people who may act on
it) can acknowledge it; anything else is refused with a short answer and changes nothing.
"""

import re
import unicodedata
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from core.errors import DomainError
from directory.models import Membership, User
from escalation import selectors
from escalation.models import (
    Alert,
    DispatchLeg,
    InboundMessage,
    LegState,
    OutboundMessage,
)
from escalation.services.alerts import acknowledge_alert
from escalation.services.dispatch import acknowledge_leg, find_by_code
from escalation.services.notifications import e164

# Longest first: "好的" before "好". "1" is the word the SMS asks for.
ACK_WORDS = ("收到", "确认", "好的", "好", "OK", "YES", "1")
CODE = re.compile(r"[A-Z0-9]+")
# Quotes and punctuation people copy from the alert text or add around the code.
PUNCTUATION = re.compile(r"[\"'“”‘’「」『』《》〈〉()（）\[\]【】,，.。!！?？:：;；、~～\-—_/]+")

HOTLINE = "2251885"


class Reply:
    """What the phone is told (Chinese: the recipients are responders on their phones)."""

    UNKNOWN_NUMBER = (
        "您好，这里是心理援助热线预警系统。本号码未登记，无法处理您的回复。"
        f"如需帮助请拨打{HOTLINE}。"
    )
    NOT_UNDERSTOOD = "未能识别您的回复。请回复“1 确认码”或“收到 确认码”（确认码见预警短信）。"
    UNKNOWN_CODE = "未找到确认码“{code}”。请核对预警短信中的确认码，回复“1 确认码”。"
    NOT_YOURS = (
        "确认码“{code}”对应的通知不是发给本号码的，本号码不能确认。"
        f"请用收到通知的号码回复，或拨打{HOTLINE}。"
    )
    WHICH_ONE = "本号码有多条待确认的通知，请回复“1 确认码”指明要确认哪一条。"
    NOTHING_OPEN = f"本号码没有待确认的通知。如需帮助请拨打{HOTLINE}。"
    ALREADY = "该通知此前已确认，无需重复回复。谢谢。"
    LEG_DONE = "已确认收到紧急联动#{dispatch}（{kind}），谢谢。请尽快处置并在系统中更新进展。"
    ALERT_DONE = "已确认预警“{title}”，升级已停止。谢谢，请尽快处理。"


@dataclass(frozen=True)
class ParsedReply:
    acknowledges: bool
    code: str = ""  # "" when the reply named no code


@dataclass(frozen=True)
class ReplyOutcome:
    acknowledged: bool
    text: str
    target: DispatchLeg | Alert | None = None
    duplicate: bool = False  # a redelivered MessageSid: nothing done, nothing to say


def parse_reply(body: str) -> ParsedReply:
    """Read "1 K7Q2P", "收到K7Q2P", "１　ｋ７ｑ２ｐ", "“1 K7Q2P”。" alike.

    NFKC folds full-width digits, letters and the ideographic space into ASCII; the code is
    matched case-insensitively.
    """
    text = unicodedata.normalize("NFKC", body or "").upper()
    text = " ".join(PUNCTUATION.sub(" ", text).split())
    word = next((w for w in ACK_WORDS if text.startswith(w)), None)
    if word is None:
        return ParsedReply(False)
    after = text[len(word) : len(word) + 1]
    if word in ("OK", "YES") and after.isascii() and after.isalnum():
        return ParsedReply(False)  # "OKAY", "YESTERDAY": not an acknowledgement word
    rest = text[len(word) :].strip()
    token = rest.split(" ", 1)[0] if rest else ""
    # An ASCII token after the word is the code (right or wrong); Chinese words are just words.
    return ParsedReply(True, token if token and CODE.fullmatch(token) else "")


def _members_phones_can_act(phone: str, target) -> bool:
    users = User.objects.filter(phone=phone, is_active=True)
    if isinstance(target, DispatchLeg):
        return (
            target.responder_id is not None and users.filter(pk=target.responder_id).exists()
        ) or Membership.objects.active().filter(
            organisation_id=target.organisation_id, user__in=users
        ).exists()
    return any(selectors.can_act_on_alert(user, target) for user in users)


def _sent_to(phone: str, target) -> bool:
    messages = OutboundMessage.objects.filter(to=phone)
    if isinstance(target, DispatchLeg):
        return messages.filter(leg=target).exists()
    return messages.filter(alert=target).exists()


def may_acknowledge(phone: str, target) -> bool:
    """A number the leg or alert went to, or the registered phone of someone who may act on it."""
    return _sent_to(phone, target) or _members_phones_can_act(phone, target)


def _outstanding_for(phone: str) -> list:
    """With no code in the reply: the legs and alerts still waiting on this number."""
    sent = OutboundMessage.objects.filter(to=phone)
    legs = DispatchLeg.objects.filter(
        pk__in=sent.filter(leg__state=LegState.NOTIFIED).values("leg")
    )
    alerts = Alert.objects.filter(pk__in=sent.filter(alert__state="open").values("alert"))
    return [*legs, *alerts]


def _leg_of(alert: Alert, phone: str) -> DispatchLeg | None:
    """An unacknowledged-leg alert answered by the leg's own people acknowledges the leg."""
    leg_id = (alert.data or {}).get("leg")
    if alert.kind != "dispatch_leg_unacknowledged" or not leg_id:
        return None
    leg = DispatchLeg.objects.filter(pk=leg_id, state=LegState.NOTIFIED).first()
    if leg is None or not (_sent_to(phone, leg) or _members_phones_can_act(phone, leg)):
        return None
    return leg


def _actor(phone: str, target):
    """The registered person behind the number, when they may act on it; else None."""
    for user in User.objects.filter(phone=phone, is_active=True):
        if isinstance(target, DispatchLeg) and selectors.can_act_on_leg(user, target):
            return user
        if isinstance(target, Alert) and selectors.can_act_on_alert(user, target):
            return user
    return None


def _acknowledge(target, *, phone: str, via: str) -> ReplyOutcome:
    if isinstance(target, Alert):
        target = _leg_of(target, phone) or target
    actor = _actor(phone, target)
    if isinstance(target, DispatchLeg):
        leg = acknowledge_leg(actor, target, via=via, phone=phone)
        text = Reply.LEG_DONE.format(dispatch=leg.dispatch_id, kind=leg.get_kind_display())
        return ReplyOutcome(True, text, leg)
    alert = acknowledge_alert(actor, target, via=via, phone=phone)
    return ReplyOutcome(True, Reply.ALERT_DONE.format(title=alert.title), alert)


def is_acknowledgement(*, phone: str, body: str, message_sid: str) -> bool:
    """Whether an SMS to the hotline number is a responder's reply (handled here) rather than a
    person writing to the hotline (a text conversation): a MessageSid already taken as a reply,
    a number with a leg or alert awaiting its acknowledgement, or a number we alerted or a
    staff member's phone answering with the acknowledgement words."""
    phone = e164(phone)
    if message_sid and InboundMessage.objects.filter(message_sid=message_sid).exists():
        return True
    if _outstanding_for(phone):
        return True
    known = (
        OutboundMessage.objects.filter(to=phone).exists()
        or User.objects.filter(phone=phone, is_active=True).exists()
    )
    return known and parse_reply(body).acknowledges


def acknowledge_by_sms(*, phone: str, body: str, message_sid: str) -> ReplyOutcome:
    """An SMS reply: acknowledge the leg or alert it names, once per MessageSid."""
    phone = e164(phone)
    if message_sid and InboundMessage.objects.filter(message_sid=message_sid).exists():
        return ReplyOutcome(False, "", duplicate=True)
    known = (
        OutboundMessage.objects.filter(to=phone).exists()
        or User.objects.filter(phone=phone, is_active=True).exists()
    )
    if not known:
        return ReplyOutcome(False, Reply.UNKNOWN_NUMBER)
    parsed = parse_reply(body)
    if not parsed.acknowledges:
        return ReplyOutcome(False, Reply.NOT_UNDERSTOOD)
    if parsed.code:
        target = find_by_code(parsed.code)
        if target is None:
            return ReplyOutcome(False, Reply.UNKNOWN_CODE.format(code=parsed.code))
        if not may_acknowledge(phone, target):
            return ReplyOutcome(False, Reply.NOT_YOURS.format(code=parsed.code))
    else:
        waiting = _outstanding_for(phone)
        if not waiting:
            return ReplyOutcome(False, Reply.NOTHING_OPEN)
        if len(waiting) > 1:
            return ReplyOutcome(False, Reply.WHICH_ONE)
        target = waiting[0]
    try:
        with transaction.atomic():
            InboundMessage.objects.create(
                message_sid=message_sid or f"nosid:{phone}:{body}"[:64],
                from_number=phone,
                body=body,
                leg=target if isinstance(target, DispatchLeg) else None,
                alert=target if isinstance(target, Alert) else None,
            )
            return _acknowledge(target, phone=phone, via="sms")
    except IntegrityError:
        # The same MessageSid delivered twice at once: the other delivery acknowledged.
        return ReplyOutcome(False, "", duplicate=True)
    except DomainError:
        return ReplyOutcome(False, Reply.ALREADY, target)


def acknowledge_by_call(message: OutboundMessage) -> ReplyOutcome:
    """Key 1 pressed on the alert call to ``message.to``: the call itself proves the number."""
    target = message.leg or message.alert
    if target is None:
        return ReplyOutcome(False, "")
    try:
        with transaction.atomic():
            return _acknowledge(target, phone=message.to, via="voice")
    except DomainError:
        return ReplyOutcome(False, Reply.ALREADY, target)
