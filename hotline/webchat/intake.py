"""The visitor socket's synchronous side: pre-chat answers, and the calls into the conversation
services (``hotline.services.conversations``) by the conversation's row id.

Every write is a service call; the reads here are what the visitor may see of their own
conversation (its messages, its place in the queue) and nothing else: never the operator's
user id, notes or triage.
"""

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from directory.models import Region
from hotline import conversations
from hotline.models import WAITING_STATUSES, Call, CallChannel, CallStatus
from hotline.services import conversations as services

AGE_GROUPS = [
    ("under_14", _("Under 14")),
    ("14_17", _("14 to 17")),
    ("18_24", _("18 to 24")),
    ("25_plus", _("25 or older")),
    ("rather_not", _("Rather not say")),
]
SAFETY = [
    ("yes", _("Yes, I am safe")),
    ("no", _("No, I am not safe")),
    ("unsure", _("I am not sure")),
]
ENDED = [CallStatus.WRAP_UP, CallStatus.COMPLETED, CallStatus.ABANDONED]


def districts():
    """The districts and counties of the line's area (the pre-chat's "where are you")."""
    return Region.objects.filter(level="district").order_by("code")


def clean_pre_chat(raw) -> tuple[dict, dict]:
    """(answers, errors by field). Only the three known keys with known values are kept."""
    if not isinstance(raw, dict):
        return {}, {"pre_chat": [str(_("Please answer the questions."))]}
    errors, answers = {}, {}
    age = raw.get("age_group")
    if age not in dict(AGE_GROUPS):
        errors["age_group"] = [str(_("Choose an age group."))]
    answers["age_group"] = age
    safe = raw.get("safe")
    if safe not in dict(SAFETY):
        errors["safe"] = [str(_("Tell us whether you are safe right now."))]
    answers["safe"] = safe
    district = raw.get("district") or ""
    if not isinstance(district, str) or (
        district and not districts().filter(code=district).exists()
    ):
        errors["district"] = [str(_("Choose a district from the list."))]
    answers["district"] = district
    return answers, errors


def open_chat(pre_chat: dict) -> tuple[int, str]:
    """Opens the conversation. The operator reads the answers in words (the line's language);
    ``in_danger`` (not safe, or not sure) ranks it ahead in the queue."""
    with translation.override(settings.LANGUAGE_CODE):
        region = districts().filter(code=pre_chat["district"]).first()
        summary = {
            "age_group": str(dict(AGE_GROUPS)[pre_chat["age_group"]]),
            "district": region.name if region else "",
            "safe_now": str(dict(SAFETY)[pre_chat["safe"]]),
            "in_danger": pre_chat["safe"] != "yes",
        }
    call = services.open_conversation(CallChannel.WEBCHAT, pre_chat=summary)
    return call.pk, call.call_sid


def group_for(call_id: int) -> str:
    return conversations.visitor_group(call_id)


def _message(m) -> dict:
    return {"id": m.pk, "direction": m.direction, "body": m.body, "at": m.created_at.isoformat()}


def resumable(call_sid: str) -> dict | None:
    """The visitor's view of an open web chat, or None (unknown, not a web chat, ended)."""
    call = (
        Call.objects.filter(call_sid=call_sid, channel=CallChannel.WEBCHAT)
        .select_related("operator")
        .first()
    )
    if call is None or call.ended_at is not None or call.status in ENDED:
        return None
    state = "waiting" if call.status in WAITING_STATUSES else "talking"
    operator = ""
    if state == "talking" and call.operator is not None:
        operator = conversations.display_name(call.operator)
    messages = [_message(m) for m in services.transcript(call)]
    return {"id": call.pk, "state": state, "operator": operator, "messages": messages}


def visitor_says(call_id: int, body: str) -> dict:
    return _message(services.receive_message(Call.objects.get(pk=call_id), body))


def visitor_typing(call_id: int) -> None:
    services.visitor_typing(Call.objects.get(pk=call_id))


def visitor_left(call_id: int) -> None:
    services.end_conversation(Call.objects.get(pk=call_id), reason="visitor_left")


def queue_place(call_id: int) -> dict | None:
    """Place in the queue (1 = next) and an estimate of the wait, while waiting."""
    call = Call.objects.filter(pk=call_id).first()
    if call is None:
        return None
    position, wait = conversations.queue_position(call)
    if not position:
        return None
    return {"position": position, "expected_wait_seconds": wait}
