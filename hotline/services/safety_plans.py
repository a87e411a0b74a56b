"""The safety plan (安全计划): versions written with the caller, and the SMS of the plan.

Whoever may work on the case writes it (the operator on the call, the counsellor the case was
referred to); each save is a new version. The plan goes to the caller by SMS only with the
consent recorded on the current version, to the number on the person's file.
"""

import json
import logging
import re

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _
from twilio.base.exceptions import TwilioException

from core.errors import Conflict, Forbidden, Invalid, NotFound
from core.telephony import twilio_client, twilio_configured
from directory.models import Organisation, OrganisationKind
from hotline.models import Case
from hotline.safety_plan import (
    CONTACT_KEYS,
    LINE_SECTIONS,
    SECTION_LABELS,
    SafetyPlanMessage,
    SafetyPlanVersion,
)
from hotline.selectors import can_work_on_case
from realtime.publish import publish

log = logging.getLogger(__name__)

MAX_LINES = 20
MAX_LINE_CHARS = 200
MAX_CONTACTS = 12
MAX_NAME_CHARS = 60
MAX_NOTE_CHARS = 200
# Numbers as a caller dials them: 110, 12356, 2251885, 0572-2251885, +86 138 0000 0000.
PHONE = re.compile(r"\+?\d[\d \-]{1,18}\d")


def current_version(case: Case) -> SafetyPlanVersion | None:
    return case.safety_plan_versions.select_related("author").order_by("-number").first()


def counselling_centre() -> Organisation | None:
    return (
        Organisation.objects.filter(kind=OrganisationKind.COUNSELLING_CENTRE, is_active=True)
        .order_by("pk")
        .first()
    )


def blank_plan() -> dict:
    """A new plan: the professionals and agencies prefilled (the caller keeps their numbers)."""
    professionals = [
        {"name": "南太湖心航心理援助热线（24小时）", "phone": settings.SAFETY_PLAN_HOTLINE_NUMBER},
        {"name": "心理咨询预约热线", "phone": settings.SAFETY_PLAN_APPOINTMENT_NUMBER},
        {"name": "全国心理援助热线", "phone": "12356"},
        {"name": "报警", "phone": "110"},
        {"name": "急救", "phone": "120"},
    ]
    centre = counselling_centre()
    if centre is not None:
        note = "；".join(
            part
            for part in (
                f"地址：{centre.address}" if centre.address else "",
                f"开放时间：{settings.SAFETY_PLAN_CENTRE_HOURS}",
            )
            if part
        )
        professionals.append({"name": centre.name, "phone": "", "note": note})
    plan = {key: [] for key in LINE_SECTIONS}
    plan |= {"helpers": [], "professionals": professionals}
    return plan


def clean_sections(sections) -> dict:
    """The sections checked and trimmed; ``Invalid`` with each section's errors beside it."""
    if not isinstance(sections, dict):
        raise Invalid(_("The safety plan must be an object of sections."))
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(sections) - set(SECTION_LABELS))
    if unknown:
        errors["sections"] = [_("Unknown sections: %(names)s.") % {"names": ", ".join(unknown)}]
    plan: dict[str, list] = {}
    for key in LINE_SECTIONS:
        lines, problems = _lines(sections.get(key) or [])
        plan[key] = lines
        if problems:
            errors[key] = problems
    for key in CONTACT_KEYS:
        rows, problems = _contacts(sections.get(key) or [])
        plan[key] = rows
        if problems:
            errors[key] = problems
    if not errors and not any(plan[k] for k in SECTION_LABELS if k != "professionals"):
        errors["warning_signs"] = [_("Write at least one line of the plan with the caller.")]
    if errors:
        raise Invalid(_("The safety plan has errors; see each section."), fields=errors)
    return plan


def _lines(value) -> tuple[list[str], list[str]]:
    if isinstance(value, str):
        value = value.splitlines()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return [], [_("A list of lines is expected.")]
    lines = [v.strip() for v in value if v.strip()]
    problems = []
    if len(lines) > MAX_LINES:
        problems.append(_("At most %(n)s lines.") % {"n": MAX_LINES})
    for i, line in enumerate(lines, 1):
        if len(line) > MAX_LINE_CHARS:
            problems.append(
                _("Line %(i)s is longer than %(n)s characters.") % {"i": i, "n": MAX_LINE_CHARS}
            )
    return lines, problems


def _contacts(value) -> tuple[list[dict], list[str]]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        return [], [_("A list of names with phone numbers is expected.")]
    rows, problems = [], []
    for i, raw in enumerate(value, 1):
        name = str(raw.get("name") or "").strip()
        phone = str(raw.get("phone") or "").strip()
        note = str(raw.get("note") or "").strip()
        if not (name or phone or note):
            continue
        if not name:
            problems.append(_("Row %(i)s: a name is needed.") % {"i": i})
        elif len(name) > MAX_NAME_CHARS:
            problems.append(
                _("Row %(i)s: the name is longer than %(n)s characters.")
                % {"i": i, "n": MAX_NAME_CHARS}
            )
        if phone and not PHONE.fullmatch(phone):
            problems.append(
                _("Row %(i)s: “%(phone)s” is not a phone number (digits, spaces, -, a leading +).")
                % {"i": i, "phone": phone[:30]}
            )
        if len(note) > MAX_NOTE_CHARS:
            problems.append(
                _("Row %(i)s: the note is longer than %(n)s characters.")
                % {"i": i, "n": MAX_NOTE_CHARS}
            )
        row = {"name": name, "phone": phone}
        if note:
            row["note"] = note
        rows.append(row)
    if len(rows) > MAX_CONTACTS:
        problems.append(_("At most %(n)s rows.") % {"n": MAX_CONTACTS})
    return rows, problems


def _require_worker(actor, case: Case) -> None:
    if not can_work_on_case(actor, case):
        raise Forbidden(_("This case belongs to an organisation you do not work for."))


def save_version(actor, case: Case, sections, *, sms_consent: bool = False) -> SafetyPlanVersion:
    """Save the plan as its next version (安全计划: 新版本); earlier versions stay as written."""
    _require_worker(actor, case)
    plan = clean_sections(sections)
    with transaction.atomic():
        case = Case.objects.select_for_update().get(pk=case.pk)
        if not case.is_open:
            raise Conflict(_("The case is closed; reopen it to change the plan."), code="closed")
        last = case.safety_plan_versions.order_by("-number").values_list("number", flat=True)
        version = SafetyPlanVersion.objects.create(
            case=case,
            number=(last.first() or 0) + 1,
            author=actor,
            sections=json.dumps(plan, ensure_ascii=False),
            sms_consent=bool(sms_consent),
        )
        publish(
            "safety_plan.saved",
            case=case,
            actor=actor,
            data={"version": version.number, "sms_consent": version.sms_consent},
        )
    return version


# --- the SMS of the plan ------------------------------------------------------------------


def sms_text(version: SafetyPlanVersion) -> str:
    """The plan as the caller keeps it: short, in Chinese, the numbers first."""
    plan = version.content
    parts = ["【南太湖心航】您的安全计划。"]
    if plan.get("reasons"):
        parts.append("活下去的理由：" + "；".join(plan["reasons"]) + "。")
    if plan.get("coping"):
        parts.append("自我应对：" + "；".join(plan["coping"]) + "。")
    helpers = [_contact_text(c) for c in plan.get("helpers", [])]
    if helpers:
        parts.append("可以求助的人：" + "；".join(helpers) + "。")
    numbers = [_contact_text(c) for c in plan.get("professionals", []) if c.get("phone")]
    if numbers:
        parts.append("求助电话：" + "；".join(numbers) + "。")
    parts.append("有危险请立即拨打110或120。")
    return "".join(parts)


def _contact_text(contact: dict) -> str:
    return f"{contact.get('name', '')}{contact.get('phone', '')}"


def split_sms(text: str, size: int) -> list[str]:
    """Parts of at most ``size`` characters, numbered "(1/2)" when there are several."""
    if len(text) <= size:
        return [text]
    room = size - 7  # "(99/99)"
    chunks = [text[i : i + room] for i in range(0, len(text), room)]
    return [f"({i}/{len(chunks)}){chunk}" for i, chunk in enumerate(chunks, 1)]


def status_callback_url() -> str:
    base = (settings.TWILIO_WEBHOOK_BASE_URL or settings.ESCALATION_PUBLIC_BASE_URL).rstrip("/")
    return base + reverse("hotline-twilio-safety-plan-sms-status")


def send_plan_sms(actor, case: Case) -> list[SafetyPlanMessage]:
    """Send the current plan to the caller's number; refused (409) without their consent on
    that version or without a number. The request goes out after the commit; a provider's
    refusal is kept on the message as "failed" for the page to say."""
    _require_worker(actor, case)
    with transaction.atomic():
        case = Case.objects.select_for_update(of=("self",)).select_related("person").get(pk=case.pk)
        version = current_version(case)
        if version is None:
            raise Conflict(_("There is no safety plan to send yet."), code="no_plan")
        if not version.sms_consent:
            raise Conflict(
                _("The caller has not consented to receive the plan by SMS."), code="no_consent"
            )
        if not case.person.phone:
            raise Conflict(
                _("The person has no phone number on file to send the plan to."),
                code="no_number",
            )
        bodies = split_sms(sms_text(version), settings.SAFETY_PLAN_SMS_PART_CHARS)
        messages = [
            SafetyPlanMessage.objects.create(
                version=version,
                sent_by=actor,
                to=case.person.phone,
                part=i,
                parts=len(bodies),
                body=body,
            )
            for i, body in enumerate(bodies, 1)
        ]
        publish(
            "safety_plan.sent",
            case=case,
            actor=actor,
            data={"version": version.number, "parts": len(bodies)},
        )
    for message in messages:
        _deliver(message)
    return messages


def _deliver(message: SafetyPlanMessage) -> None:
    """Hand one part to Twilio (or record it on the console gateway without an account)."""
    if not twilio_configured():
        sid, status = f"CONSOLE-SP{message.pk:08d}", "sent"
    else:
        try:
            sent = twilio_client().messages.create(
                to=str(message.to),
                from_=settings.TWILIO_FROM_NUMBER,
                body=message.body,
                status_callback=status_callback_url(),
            )
            sid, status = sent.sid, sent.status or "queued"
        except TwilioException:
            log.warning("safety plan SMS %s failed", message.pk, exc_info=True)
            sid, status = "", "failed"
    SafetyPlanMessage.objects.filter(pk=message.pk).update(sid=sid, status=status[:20])
    message.sid, message.status = sid, status[:20]


def sms_status_changed(*, sid: str, status: str) -> SafetyPlanMessage:
    """Twilio's status callback for a part of the plan (queued → sent → delivered/failed)."""
    with transaction.atomic():
        message = SafetyPlanMessage.objects.select_for_update().filter(sid=sid).first()
        if message is None:
            raise NotFound(_("Unknown message."), code="unknown_message")
        if message.status != status:
            SafetyPlanMessage.objects.filter(pk=message.pk).update(status=status[:20])
            message.status = status[:20]
    return message
