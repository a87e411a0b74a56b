"""The safety plan page (安全计划): written with the caller from the console, by the counsellor
on the case, and reviewed at a follow-up (``?follow_up=<id>``). A plain form: each section's
errors beside it, the SMS of the plan sent from the same page."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clinics import selectors
from clinics.models import ReviewOutcome
from clinics.services_safety_plan import review_safety_plan
from clinics.views import CARE_PAGE_ROLES, _context, for_roles
from core.errors import DomainError
from hotline.models import SafetyPlanMessage
from hotline.safety_plan import CONTACT_SECTIONS, LIST_SECTIONS, TAIL_SECTIONS
from hotline.selectors import can_work_on_case, visible_cases
from hotline.services import record_case_read, safety_plans

BLANK_ROWS = {"helpers": 3, "professionals": 1}
SMS_STATUSES = {
    "queued": gettext_lazy("queued"),
    "sent": gettext_lazy("sent"),
    "delivered": gettext_lazy("delivered"),
    "failed": gettext_lazy("failed"),
    "undelivered": gettext_lazy("not delivered"),
}


def sections_from_post(post) -> dict:
    """The form's fields as the service's sections: a line per line, a row per name."""
    plan: dict = {}
    for key, _label in LIST_SECTIONS + TAIL_SECTIONS:
        plan[key] = post.get(key, "").splitlines()
    for key, _label in CONTACT_SECTIONS:
        names, phones = post.getlist(f"{key}-name"), post.getlist(f"{key}-phone")
        notes = post.getlist(f"{key}-note")
        plan[key] = [
            {
                "name": name,
                "phone": phones[i] if i < len(phones) else "",
                "note": notes[i] if i < len(notes) else "",
            }
            for i, name in enumerate(names)
        ]
    return plan


def _form_sections(plan: dict, errors: dict) -> list[dict]:
    """Every section in the intervention's order (warning signs first, reasons for living last)."""
    found = []
    for key, label in LIST_SECTIONS + CONTACT_SECTIONS + TAIL_SECTIONS:
        section = {"key": key, "label": label, "errors": errors.get(key, [])}
        if key in BLANK_ROWS:
            section |= {
                "contacts": True,
                "rows": list(plan.get(key) or []) + [{}] * BLANK_ROWS[key],
                "notes": key == "professionals",
            }
        else:
            section["text"] = "\n".join(plan.get(key) or [])
        found.append(section)
    return found


@for_roles(*CARE_PAGE_ROLES)
def safety_plan_page(request, pk: int):
    case = get_object_or_404(visible_cases(request.user).select_related("person"), pk=pk)
    follow_up = None
    follow_up_id = request.GET.get("follow_up", "")
    if follow_up_id.isdigit():
        follow_up = (
            selectors.visible_follow_ups(request.user)
            .filter(case=case, pk=int(follow_up_id), state="scheduled")
            .first()
        )
    current = safety_plans.current_version(case)
    plan = current.content if current else safety_plans.blank_plan()
    consent = current.sms_consent if current else False
    errors: dict = {}
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "save")
        try:
            message = _act(request, case, follow_up, action)
        except DomainError as exc:
            if action == "send" or not exc.fields:
                messages.error(request, exc.message)
            errors = exc.fields or {}
            if action != "send":
                plan = sections_from_post(request.POST)
                consent = request.POST.get("sms_consent") == "on"
            status = exc.status_code
        else:
            messages.success(request, message)
            return redirect(request.get_full_path())
    else:
        record_case_read(request.user, case, what="safety_plan_page")
    sections = _form_sections(plan, errors)
    sent = list(
        SafetyPlanMessage.objects.filter(version__case=case)
        .select_related("version", "sent_by")
        .order_by("-sent_at", "part")[:20]
    )
    for m in sent:
        m.status_words = SMS_STATUSES.get(m.status, m.status)
    return render(
        request,
        "clinics/safety_plan.html",
        _context(
            request,
            _("Safety plan · case #%(id)s") % {"id": case.pk},
            case=case,
            current=current,
            versions=list(case.safety_plan_versions.select_related("author").order_by("-number")),
            follow_up=follow_up,
            can_edit=can_work_on_case(request.user, case),
            sections=sections,
            consent=consent,
            errors=errors,
            sent=sent,
            case_url=reverse("clinics:case", args=[case.pk]),
        ),
        status=status,
    )


def _act(request, case, follow_up, action: str) -> str:
    user = request.user
    if action == "send":
        sent = safety_plans.send_plan_sms(user, case)
        return _("The plan was sent by SMS in %(n)s part(s).") % {"n": len(sent)}
    sections = sections_from_post(request.POST)
    consent = request.POST.get("sms_consent") == "on"
    if follow_up is not None and action in ReviewOutcome.values:
        review = review_safety_plan(
            user, follow_up, outcome=action, sections=sections, sms_consent=consent
        )
        return _("Review recorded on the follow-up: %(outcome)s, version %(n)s.") % {
            "outcome": review.get_outcome_display(),
            "n": review.version.number,
        }
    version = safety_plans.save_version(user, case, sections, sms_consent=consent)
    return _("Saved as version %(n)s.") % {"n": version.number}
