"""What a dispatch says (简报与短信): the minimal case brief a responder sees, the SMS and voice
texts sent to a leg's phones, and the operator's warnings about what was not known or done."""

from django.utils.translation import gettext as _

from escalation.models import Dispatch, DispatchLeg, ResponderKind
from escalation.services.location import location_known

LOCATE_CALLER = "地点不明：请定位来电者 / location unknown: please locate the caller"


def warning_messages(dispatch: Dispatch) -> list[str]:
    """What was not known or not done when help went out, in words for the operator."""
    words = {
        "location_unknown": _(
            "Location unknown: the city's 110 command centre and 120 dispatch centre were asked "
            "to locate the caller. Set the location as soon as it is known."
        ),
        "address_not_matched": _(
            "The address matched no district or community: the city's 110 and 120 centres were "
            "alerted. Pick the place to add the community."
        ),
    }
    out = [str(words.get(code, code)) for code in dispatch.warnings]
    for kind in dispatch.missing_kinds:
        out.append(
            _("No %(kind)s found for this place; the coordinator has been alerted.")
            % {"kind": ResponderKind(kind).label}
        )
    for kind, reason in dispatch.skipped_kinds.items():
        out.append(
            _("%(kind)s left out by the operator: %(reason)s")
            % {"kind": ResponderKind(kind).label, "reason": reason}
        )
    return out


def case_brief(dispatch: Dispatch) -> dict:
    """The minimal case summary a responder sees (没有完整个案): who, risk, where, whom to call.
    With the place unknown it says so and gives the caller's number to locate them by."""
    case = dispatch.case
    person = case.person
    caller_phone = ""
    if dispatch.call_id and dispatch.call.from_number:
        caller_phone = str(dispatch.call.from_number)
    known = location_known(dispatch)
    return {
        "case": case.pk,
        "person": str(person),
        "phone": str(person.phone) if person.phone else "",
        "caller_phone": caller_phone,
        "risk": case.risk,
        "risk_display": str(case.get_risk_display()),
        "address": dispatch.address,
        "region": dispatch.region.name if dispatch.region else "",
        "location_known": known,
        "instruction": "" if known else LOCATE_CALLER,
    }


def _brief_where(brief: dict) -> str:
    where = "，".join(p for p in (brief["region"], brief["address"]) if p)
    if not brief["location_known"]:
        where = "地点不明，请定位来电者" + (f"（线索：{where}）" if where else "")
    return where


def _brief_phone(brief: dict) -> str:
    phones = list(dict.fromkeys(p for p in (brief["caller_phone"], brief["phone"]) if p))
    return "联系电话：" + "、".join(phones) + "。" if phones else "来电号码未显示。"


def sms_text(leg: DispatchLeg, *, update: bool = False) -> str:
    brief = case_brief(leg.dispatch)
    head = "【心理援助热线紧急联动·地点更新】" if update else "【心理援助热线紧急联动】"
    return (
        f"{head}个案#{brief['case']}（{brief['person']}，风险：{brief['risk_display']}）"
        f"需要{leg.get_kind_display()}立即处置。地点：{_brief_where(brief)}。"
        f"{_brief_phone(brief)}"
        f"请回复“1 {leg.short_code}”确认收到。"
    )


def voice_text(leg: DispatchLeg) -> str:
    brief = case_brief(leg.dispatch)
    return (
        f"这里是心理援助热线紧急联动。个案{brief['case']}，风险{brief['risk_display']}，"
        f"地点：{_brief_where(brief)}。请{leg.get_kind_display()}立即处置。"
    )


def leg_phones(leg: DispatchLeg) -> list[str]:
    phones = []
    if leg.responder_id and leg.responder.phone:
        phones.append(str(leg.responder.phone))
    if leg.organisation.duty_phone:
        phones.append(str(leg.organisation.duty_phone))
    return list(dict.fromkeys(phones))
