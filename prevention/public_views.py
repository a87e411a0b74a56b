"""The public screening pages (no account, phone-sized): code, consent, questions, thanks.

The slip's code is kept in the session between the steps; consent is kept there too and
written only together with the answers, so a refusal or an abandoned page keeps nothing.
Nobody is shown a score.
"""

from django.conf import settings
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from rest_framework.throttling import SimpleRateThrottle

from core.errors import Invalid
from prevention import scoring, services
from prevention.models import ConsentRule

SESSION_KEY = "screening"


class CodeThrottle(SimpleRateThrottle):
    """Typed codes per client address (DRF's throttle, as the token endpoint's)."""

    scope = "screening_code"

    def get_rate(self):
        return settings.SCREENING_CODE_RATE

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


def _help_numbers():
    return [
        (_("24-hour psychological assistance hotline"), "2251885"),
        (_("Counselling centre appointments"), "2259885"),
        (_("Emergency: police / ambulance"), "110 / 120"),
    ]


def _render(request, template, status=200, **context):
    return render(
        request,
        f"prevention/public/{template}",
        {"help_numbers": _help_numbers(), **context},
        status=status,
    )


def _slip(request):
    code = (request.session.get(SESSION_KEY) or {}).get("code")
    if not code:
        return None
    try:
        return services.open_slip(code)
    except Invalid:
        return None


@require_http_methods(["GET", "POST"])
def enter_code(request):
    if request.method == "GET":
        return _render(request, "code.html")
    throttle = CodeThrottle()
    if not throttle.allow_request(request, None):
        return _render(
            request,
            "code.html",
            status=429,
            error=_("Too many attempts from here. Please wait a while and try again."),
        )
    try:
        slip = services.open_slip(request.POST.get("code", ""))
    except Invalid as exc:
        return _render(request, "code.html", status=400, error=exc.message)
    request.session[SESSION_KEY] = {"code": slip.code}
    return redirect("screening:consent")


@require_http_methods(["GET", "POST"])
def consent(request):
    slip = _slip(request)
    if slip is None:
        return redirect("screening:start")
    campaign = slip.campaign
    context = {
        "campaign": campaign,
        "asks_age": campaign.consent_rule == ConsentRule.GUARDIAN_FOR_MINORS,
    }
    if request.method == "GET":
        return _render(request, "consent.html", **context)
    if request.POST.get("decision") != "agree":
        request.session.pop(SESSION_KEY, None)  # nothing kept
        return _render(request, "refused.html")
    minor = campaign.consent_rule == ConsentRule.GUARDIAN or request.POST.get("minor") == "yes"
    if context["asks_age"] and request.POST.get("minor") not in ("yes", "no"):
        return _render(
            request, "consent.html", status=400, minor_error=_("Please choose one."), **context
        )
    needed = services.consent_needed_from(campaign, minor=minor)
    if needed == "guardian" and request.POST.get("guardian_agrees") != "on":
        return _render(
            request,
            "consent.html",
            status=400,
            guardian_error=_("A parent or guardian must agree before a minor takes part."),
            **context,
        )
    request.session[SESSION_KEY] = {
        "code": slip.code,
        "consent_by": needed,
        "minor": minor,
        "consented_at": timezone.now().isoformat(),
    }
    return redirect("screening:questions")


def _questionnaires(campaign, answers=None, errors=None):
    answers, errors = answers or {}, errors or {}
    out = []
    for q in campaign.questionnaires:
        items = []
        for n, text in enumerate(scoring.ITEMS[q], 1):
            name = f"{q}_{n}"
            items.append(
                {
                    "name": name,
                    "n": n,
                    "text": text,
                    "value": answers.get(name),
                    "error": errors.get(name),
                }
            )
        out.append({"key": q, "title": scoring.TITLES[q], "items": items})
    return out


@require_http_methods(["GET", "POST"])
def questions(request):
    state = request.session.get(SESSION_KEY) or {}
    slip = _slip(request)
    if slip is None:
        return redirect("screening:start")
    if not state.get("consent_by"):
        return redirect("screening:consent")
    campaign = slip.campaign
    if request.method == "GET":
        return _render(
            request,
            "questions.html",
            campaign=campaign,
            questionnaires=_questionnaires(campaign),
            stem=scoring.STEM,
            options=scoring.OPTIONS,
        )
    given, answers = {}, {}
    for q in campaign.questionnaires:
        answers[q] = []
        for n in range(1, len(scoring.ITEMS[q]) + 1):
            raw = request.POST.get(f"{q}_{n}", "")
            value = int(raw) if raw in ("0", "1", "2", "3") else None
            given[f"{q}_{n}"] = raw if value is not None else None
            answers[q].append(value)
    try:
        services.submit_answers(
            slip.code,
            consent_by=state["consent_by"],
            consented_at=parse_datetime(state["consented_at"]),
            answers=answers,
            guardian_minor=state.get("minor", False),
        )
    except Invalid as exc:
        if exc.code != "unanswered":
            request.session.pop(SESSION_KEY, None)
            return _render(request, "code.html", status=400, error=exc.message)
        errors = {k: v[0] for k, v in exc.fields.items()}
        return _render(
            request,
            "questions.html",
            status=400,
            campaign=campaign,
            questionnaires=_questionnaires(campaign, given, errors),
            stem=scoring.STEM,
            options=scoring.OPTIONS,
            error=exc.message,
        )
    request.session.pop(SESSION_KEY, None)
    return redirect("screening:thanks")


def thanks(request):
    return _render(request, "thanks.html")
