"""处置任务: the responder's page (110, 120, community committee, on-duty expert).

Each button is a plain POST form calling the same service as the REST API's leg actions; the
page redirects back with a message, and a refusal is shown in words beside its leg.
"""

import phonenumbers
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST

from core.errors import Conflict, DomainError, Forbidden, NotFound
from directory.access import is_responder, responder_organisation_ids
from directory.models import Organisation
from escalation import selectors, services
from escalation.models import DispatchLeg, LegState
from hotline.models import Risk
from hotline.services import record_read

# action in the URL -> (the leg state it leads to, the button's words)
STEPS = {
    "acknowledge": (LegState.ACKNOWLEDGED, gettext_lazy("Received")),
    "en_route": (LegState.EN_ROUTE, gettext_lazy("On the way")),
    "on_scene": (LegState.ON_SCENE, gettext_lazy("Arrived")),
    "done": (LegState.DONE, gettext_lazy("Handed over")),
    "fail": (LegState.FAILED, gettext_lazy("Could not help")),
}
# Which buttons each state offers (the same transitions as DispatchLeg's state machine).
NEXT_STEPS = {
    LegState.NOTIFIED: ["acknowledge"],
    LegState.ACKNOWLEDGED: ["en_route", "on_scene", "done"],
    LegState.EN_ROUTE: ["on_scene", "done"],
    LegState.ON_SCENE: ["done"],
}
# The states in the page's own words, so that a pressed button and the state it shows match.
STATE_WORDS = {
    LegState.NOTIFIED: pgettext_lazy("leg state", "Waiting"),
    LegState.ACKNOWLEDGED: pgettext_lazy("leg state", "Received"),
    LegState.EN_ROUTE: pgettext_lazy("leg state", "On the way"),
    LegState.ON_SCENE: pgettext_lazy("leg state", "Arrived"),
    LegState.DONE: pgettext_lazy("leg state", "Handed over"),
    LegState.FAILED: pgettext_lazy("leg state", "Could not help"),
}
URGENT_RISKS = {Risk.HIGH, Risk.IMMINENT}
LEG_TAG = "leg-%s"


def _require_responder(user) -> None:
    # The on-duty expert is named on the leg even without a membership that answers dispatches.
    if not is_responder(user) and not selectors.responder_legs(user).exists():
        raise PermissionDenied(_("This page is for responders (110, 120, community, experts)."))


def _where(leg: DispatchLeg) -> str:
    region = leg.dispatch.region
    return " ".join(r.name for r in region.ancestors()) if region else ""


def _national(number: str) -> str:
    """138 0000 0077 rather than +8613800000077: read aloud and dialled by hand at night."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)


def _leg_rows(legs) -> list[dict]:
    rows = []
    for leg in legs:
        dispatch = leg.dispatch
        hotline = dispatch.case.owning_organisation
        brief = services.case_brief(dispatch)
        rows.append(
            {
                "leg": leg,
                "brief": brief,
                "where": _where(leg),
                "phone_shown": _national(brief["phone"]) if brief["phone"] else "",
                "hotline_phone": str(hotline.duty_phone) if hotline.duty_phone else "",
                "hotline_phone_shown": _national(str(hotline.duty_phone))
                if hotline.duty_phone
                else "",
                "hotline_name": hotline.name,
                "state_words": STATE_WORDS[leg.state],
                "waiting": leg.state == LegState.NOTIFIED,
                "urgent": dispatch.case.risk in URGENT_RISKS,
                "steps": [(name, STEPS[name][1]) for name in NEXT_STEPS.get(leg.state, [])],
                "can_fail": leg.state in NEXT_STEPS,
            }
        )
    return rows


def _context(request) -> dict:
    legs = selectors.open_legs_for_responder(request.user).select_related(
        "dispatch__case__owning_organisation"
    )
    rows = _leg_rows(legs)
    # The responder's brief (简报) names the person: on the read audit like any other read.
    record_read(
        request.user, what="page.responder", case_ids=[r["leg"].dispatch.case_id for r in rows]
    )
    # Messages tagged with a leg are drawn beside that leg, the rest at the top of the page.
    general, by_leg = [], {}
    for message in messages.get_messages(request):
        tag = next((t for t in message.extra_tags.split() if t.startswith("leg-")), None)
        if tag and any(str(r["leg"].pk) == tag[4:] for r in rows):
            by_leg.setdefault(int(tag[4:]), []).append(message)
        else:
            general.append(message)
    for row in rows:
        row["messages"] = by_leg.get(row["leg"].pk, [])
    return {
        "page_title": _("My dispatch tasks"),
        "rows": rows,
        "waiting_count": sum(1 for r in rows if r["waiting"]),
        "closed": [
            {"leg": leg, "state_words": STATE_WORDS[leg.state]}
            for leg in selectors.recent_closed_legs_for_responder(request.user)[:20]
        ],
        "organisations": Organisation.objects.filter(
            pk__in=responder_organisation_ids(request.user)
        ).order_by("name"),
        "messages": general,
        "responder_words": {
            "overdue": _("overdue by"),
            "minutesAgo": _("%s min ago"),
            "justNow": _("just now"),
            "noteRequired": _("Say why you could not help."),
            "waitingTitle": _("%s waiting"),
        },
    }


@login_required
def responder(request):
    """处置任务: my open dispatch legs, the unacknowledged first, each with its countdown."""
    _require_responder(request.user)
    return render(request, "escalation/responder.html", _context(request))


@login_required
def responder_legs(request):
    """The leg list alone, fetched by the page when a dispatch event arrives."""
    _require_responder(request.user)
    return render(request, "escalation/_responder_legs.html", _context(request))


def _refusal_words(exc: DomainError, leg: DispatchLeg, action: str) -> str:
    """The state machine's refusal said with the states' names, not their codes."""
    if isinstance(exc, Conflict) and exc.code in ("illegal_transition", "already_acknowledged"):
        leg.refresh_from_db(fields=["state"])
        return _("This task is already “%(now)s”; it cannot be marked “%(step)s”.") % {
            "now": STATE_WORDS[leg.state],
            "step": STEPS[action][1],
        }
    return exc.message


@require_POST
@login_required
def act(request, pk: int, action: str):
    """One button: 收到, 已出发, 已到达, 已交接, 无法处置 (with a note)."""
    _require_responder(request.user)
    if action not in STEPS:
        raise Http404
    try:
        leg = services.get_leg(pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    note = (request.POST.get("note") or "").strip()
    try:
        if action == "acknowledge":
            services.acknowledge_leg(request.user, leg, via="console")
        elif action == "fail":
            services.fail_leg(request.user, leg, reason=note)
        else:
            services.advance_leg(request.user, leg, STEPS[action][0], note=note)
    except Forbidden as exc:
        raise PermissionDenied(exc.message) from exc
    except DomainError as exc:
        messages.error(request, _refusal_words(exc, leg, action), extra_tags=LEG_TAG % leg.pk)
    else:
        messages.success(
            request,
            _("Dispatch #%(dispatch)s: marked “%(step)s”.")
            % {"dispatch": leg.dispatch_id, "step": STEPS[action][1]},
            extra_tags=LEG_TAG % leg.pk,
        )
    return redirect(reverse("responder:page") + f"#leg-{leg.pk}")
