"""Small pieces of the text conversations that the services, the views and the web-chat consumer
share: the visitor's channel-layer group, the frames sent to it, the SMS split and the queue
position. No writes here (those are ``hotline.services.conversations``)."""

import logging
import statistics

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext, gettext_lazy

from hotline.models import WAITING_STATUSES, Call, CallChannel, CallStatus, ContactMessage

log = logging.getLogger(__name__)

# Without recent answers to go by: a minute per place in the queue.
DEFAULT_SECONDS_PER_PLACE = 60
RECENT_ANSWERS = 20


# A failed delivery in words on the transcript: the provider's error code (Twilio's 2xxxx/3xxxx,
# WeChat's errcode) or ours, "<channel>:<code>" first. An unknown code is shown as it is.
DELIVERY_ERRORS = {
    "sms:network": gettext_lazy("the SMS provider could not be reached"),
    "wechat:network": gettext_lazy("WeChat's servers could not be reached"),
    "network": gettext_lazy("the provider could not be reached"),
    "48h_window": gettext_lazy("the person last wrote more than 48 hours ago"),
    "45015": gettext_lazy("the person last wrote more than 48 hours ago"),
    "45047": gettext_lazy("too many messages without an answer from the person"),
    "43004": gettext_lazy("the person no longer follows the Official Account"),
    "40003": gettext_lazy("WeChat does not know this person"),
    "no_openid": gettext_lazy("the person's WeChat identity has been removed"),
    "not_configured": gettext_lazy("the channel is not configured"),
    "21211": gettext_lazy("not a valid number"),
    "21610": gettext_lazy("the person has unsubscribed (replied STOP)"),
    "21614": gettext_lazy("not a mobile number"),
    "30003": gettext_lazy("the phone is off or out of reach"),
    "30004": gettext_lazy("the number blocks messages"),
    "30005": gettext_lazy("the number does not exist"),
    "30006": gettext_lazy("a landline or a number that cannot take texts"),
    "30007": gettext_lazy("filtered by the carrier"),
    "30008": gettext_lazy("the carrier gave no reason"),
}


def delivery_error_text(code: str, channel: str = "") -> str:
    """Why a message was not delivered, in words ("" for no code or one not known here)."""
    if not code:
        return ""
    words = DELIVERY_ERRORS.get(f"{channel}:{code}") or DELIVERY_ERRORS.get(code)
    return str(words) if words else ""


def visitor_group(call: Call | int) -> str:
    """The channel-layer group of a conversation's visitor (the web-chat consumer joins it)."""
    pk = call if isinstance(call, int) else call.pk
    return f"chat.visitor.{pk}"


def message_frame(message: ContactMessage) -> dict:
    """What the visitor is sent of one message: never who wrote it (operators stay unnamed
    beyond the display name sent once with ``chat.accepted``)."""
    return {
        "type": "chat.message",
        "id": message.pk,
        "direction": message.direction,
        "body": message.body,
        "at": message.created_at.isoformat(),
    }


def send_to_visitor(call: Call | int, frame: dict) -> None:
    """``group_send`` the frame to the visitor after the commit (now, outside a transaction). A
    lost frame is logged only: the visitor's page reloads the transcript when it reconnects."""
    group = visitor_group(call)

    def send():
        layer = get_channel_layer()
        if layer is None:
            return
        try:
            async_to_sync(layer.group_send)(group, frame)
        except Exception:
            log.warning("sending %s to %s failed", frame.get("type"), group, exc_info=True)

    transaction.on_commit(send)


def split_sms(body: str, limit: int | None = None) -> list[str]:
    """Split a reply into SMS parts of at most ``limit`` UTF-16 code units (70: one UCS-2
    segment, which any Chinese text needs). A character outside the BMP (an emoji) counts two
    and is never cut in half; a break after punctuation or a space in the second half of a
    part is preferred to a hard cut."""
    limit = limit or settings.SMS_PART_CHARS
    text = body.strip()
    parts: list[str] = []
    while text:
        units, cut = 0, 0
        for i, ch in enumerate(text):
            width = 2 if ord(ch) > 0xFFFF else 1
            if units + width > limit:
                break
            units += width
            cut = i + 1
        if cut >= len(text):
            parts.append(text)
            break
        soft = max(text.rfind(p, cut // 2, cut) for p in "。！？；，,.!?;\n ")
        if soft >= cut // 2 and soft > 0:
            cut = soft + 1
        parts.append(text[:cut].strip() or text[:cut])
        text = text[cut:].strip()
    return [p for p in parts if p]


def _seconds_per_place(hotline_id: int) -> float:
    """The median wait of the centre's last answered contacts (a minute without any), at least
    ten seconds."""
    recent = (
        Call.objects.filter(hotline_id=hotline_id, answered_at__isnull=False)
        .exclude(status=CallStatus.QUEUED)
        .order_by("-answered_at")
        .values_list("queued_at", "answered_at")[:RECENT_ANSWERS]
    )
    waits = [(a - q).total_seconds() for q, a in recent if a >= q]
    return max(statistics.median(waits) if waits else DEFAULT_SECONDS_PER_PLACE, 10)


def queue_places(hotline_id: int) -> dict[int, tuple[int, int]]:
    """``queue_position`` of every web-chat visitor waiting at the centre, in two reads however
    long the queue (the same order: rank, then arrival)."""
    waiting = (
        Call.objects.filter(hotline_id=hotline_id, status__in=WAITING_STATUSES)
        .order_by("rank_at", "pk")
        .values_list("pk", "channel")
    )
    places = {}
    per_place = None
    for position, (pk, channel) in enumerate(waiting, start=1):
        if channel == CallChannel.WEBCHAT:
            if per_place is None:
                per_place = _seconds_per_place(hotline_id)
            places[pk] = (position, int(position * per_place))
    return places


def queue_position(call: Call) -> tuple[int, int]:
    """(place in the queue from 1, expected wait in seconds) of a waiting web-chat visitor;
    (0, 0) once it is answered. The wait is the place times the median wait of the centre's last
    answered contacts (a minute per place without any)."""
    if call.status not in WAITING_STATUSES:
        return 0, 0
    return queue_places(call.hotline_id).get(call.pk, (0, 0))


def display_name(user) -> str:
    """How the visitor sees the operator: their chosen display name, else "Operator" (never the
    username or the id)."""
    return (getattr(user, "display_name", "") or "").strip() or gettext("Operator")
