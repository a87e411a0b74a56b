"""协调员看板: the coordinator's board, where an emergency is run.

Every button is a plain POST form calling the same service as the REST API; board.js sends it
with fetch (the page keeps its sound permission and scroll) and draws the answer beside the
item. Without script the form posts, and the page comes back with the answer beside the item.
"""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from core.errors import DomainError, Forbidden, Invalid, NotFound
from core.http import same_site_next
from directory.access import memberships
from directory.models import Organisation, User
from escalation import selectors, services
from escalation.live_calls import live_context
from escalation.models import (
    ACTIVE_LEG_STATES,
    Alert,
    AlertState,
    Dispatch,
    DispatchLeg,
    LegState,
    OutboundMessage,
    Outcome,
    Timer,
)
from hotline.selectors import overflow_board
from hotline.services import record_read
from realtime.models import Event

ALERT_ACTIONS = {
    "acknowledge": gettext_lazy("Acknowledge"),
    "resolve": gettext_lazy("Resolve"),
    "assign": gettext_lazy("Reassign"),
    "call": gettext_lazy("Call the responder"),
    "handover": gettext_lazy("Hand over"),
}
LEG_ACTIONS = {
    "reached": gettext_lazy("Reached by phone"),
    "note": gettext_lazy("Add a note"),
    "resend": gettext_lazy("Re-send"),
}
ALERT_TAG = "alert-%s"
LEG_TAG = "leg-%s"
DISPATCH_TAG = "dispatch-%s"


def _require_coordinator(user) -> None:
    if not selectors.is_coordinator(user):
        raise PermissionDenied(_("This page is for coordinators."))


def _leg_notes(legs) -> dict[int, list[Event]]:
    ids = [leg.pk for leg in legs]
    notes: dict[int, list[Event]] = {}
    if not ids:
        return notes
    query = Q()
    for pk in ids:
        query |= Q(data__leg=pk)
    events = Event.objects.filter(query, type="dispatch.leg_note").select_related("actor")
    for event in events.order_by("id"):
        notes.setdefault(event.data.get("leg"), []).append(event)
    return notes


def _board_context(request) -> dict:
    alerts = list(selectors.board_alerts(request.user)[:200])
    dispatches = list(
        selectors.visible_dispatches(request.user)
        .filter(status=Dispatch.Status.OPEN)
        .select_related("case__person", "region")
        .prefetch_related("legs__organisation", "legs__responder")
        .order_by("-id")[:50]
    )
    legs = [leg for d in dispatches for leg in d.legs.all()]
    notes = _leg_notes(legs)
    said = _messages_by_item(request)
    for alert in alerts:
        alert.life_safety = selectors.is_life_safety_alert(alert)
        alert.said = said.get(ALERT_TAG % alert.pk, [])
        alert.assignees = selectors.alert_assignees(alert)
    for leg in legs:
        leg.notes = notes.get(leg.pk, [])[-3:]
        leg.said = said.get(LEG_TAG % leg.pk, [])
        leg.waiting = leg.state == LegState.NOTIFIED
        leg.active = leg.state in ACTIVE_LEG_STATES
        leg.via_words = _via(leg.acknowledged_via) if leg.acknowledged_via else ""
    for dispatch in dispatches:
        dispatch.waiting_legs = sum(1 for leg in dispatch.legs.all() if leg.waiting)
        dispatch.said = said.get(DISPATCH_TAG % dispatch.pk, [])
    unacknowledged = [a for a in alerts if a.life_safety and a.state == AlertState.OPEN]
    live = live_context(request.user, said)
    shown = [a.case_id for a in alerts] + [d.case_id for d in dispatches]
    shown += [c.case_id for c in live.get("live_calls", []) if c.case_id]
    record_read(request.user, what="page.board", case_ids=shown)
    midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    return {
        "overflow": overflow_board(request.user, midnight),
        "alerts": alerts,
        "dispatches": dispatches,
        "life_safety_open": len(unacknowledged),
        "open_count": sum(1 for a in alerts if a.state == AlertState.OPEN),
        "general_messages": said.get("", []),
        "outcomes": Outcome.choices,
        **live,
    }


def _messages_by_item(request) -> dict[str, list]:
    by_item: dict[str, list] = {}
    for message in messages.get_messages(request):
        tags = message.extra_tags.split()
        tag = next((t for t in tags if t.startswith(("alert-", "leg-", "dispatch-", "call-"))), "")
        by_item.setdefault(tag, []).append(message)
    return by_item


@login_required
def coordinator(request):
    """协调员看板: alerts (life-safety first) with their actions, and every open dispatch."""
    _require_coordinator(request.user)
    return render(
        request,
        "escalation/board.html",
        {
            "page_title": _("Coordination"),
            "memberships": [m for m in memberships(request.user) if m.role == "coordinator"],
            "on_duty": selectors.on_duty_coordinators(),
            "board_words": _words(),
            **_board_context(request),
        },
    )


@login_required
def board_fragment(request):
    """The board's tables alone, fetched by board.js when an event arrives."""
    _require_coordinator(request.user)
    return render(request, "escalation/_board.html", _board_context(request))


def _words() -> dict:
    return {
        "escalating": _("escalating now"),
        "overdue": _("overdue by"),
        "soundOn": _("Sound on"),
        "lifeSafetyTitle": _("%s life-safety alert(s) waiting"),
        "noteRequired": _("Write how it was resolved."),
        "failed": _("The server did not answer; try again."),
    }


def _alert_history(alert: Alert) -> list[dict]:
    """Everything that happened to the alert and, for a dispatch alert, to its leg."""
    query = Q(type__startswith="alert.", data__alert=alert.pk)
    leg_id = (alert.data or {}).get("leg")
    if leg_id:
        query |= Q(type__startswith="dispatch.", data__leg=leg_id)
    elif (alert.data or {}).get("dispatch"):
        query |= Q(type="dispatch.created", data__dispatch=alert.data["dispatch"])
    rows = []
    for event in Event.objects.filter(query).select_related("actor").order_by("id"):
        rows.append({"event": event, "words": _event_words(event)})
    return rows


def _event_words(event: Event) -> str:
    data = event.data or {}
    kind = event.type
    if kind == "alert.raised":
        return _("Raised: %(title)s") % {"title": data.get("title", "")}
    if kind == "alert.notified":
        channels = "、".join(str(_CHANNEL_WORDS.get(c, c)) for c in data.get("channels", []))
        phones = ", ".join(data.get("phones", []))
        return _("Escalation round %(round)s step %(step)s: %(channels)s%(phones)s") % {
            "round": int(data.get("fired_round", 0)) + 1,
            "step": int(data.get("fired_step", 0)) + 1,
            "channels": channels or "—",
            "phones": f" → {phones}" if phones else "",
        }
    if kind == "alert.acknowledged":
        return _("Acknowledged (%(via)s); escalation stopped") % {"via": _via(data.get("via", ""))}
    if kind == "alert.resolved":
        return _("Resolved: %(note)s") % {"note": data.get("note", "")}
    if kind == "alert.assigned":
        return _("Handed to %(name)s") % {"name": data.get("user_name", "")}
    if kind == "alert.reassigned":
        return _("Handed to %(org)s") % {"org": data.get("organisation_name", "")}
    if kind == "alert.call_placed":
        return _("Call placed to %(to)s") % {"to": data.get("to", "")}
    if kind == "dispatch.leg_note":
        return _("Note: %(note)s") % {"note": data.get("note", "")}
    if kind == "dispatch.leg_resent":
        return _("Notification sent again to %(to)s") % {"to": ", ".join(data.get("phones", []))}
    if kind == "dispatch.leg_notified":
        due = parse_datetime(data.get("ack_deadline") or "")
        at = timezone.localtime(due).strftime("%H:%M:%S") if due else "—"
        return _("Responder notified; acknowledge by %(at)s") % {"at": at}
    if kind == "dispatch.leg_acknowledged":
        return _("Leg acknowledged (%(via)s)") % {"via": _via(data.get("via", ""))}
    return kind


_VIA_WORDS = {
    "board": gettext_lazy("on the coordinator board"),
    "console": gettext_lazy("on the page"),
    "phone": gettext_lazy("reached by phone"),
    "sms": gettext_lazy("by SMS reply"),
    "voice": gettext_lazy("by key press on the call"),
}


def _via(via: str) -> str:
    return str(_VIA_WORDS.get(via, via))


_CHANNEL_WORDS = {
    "console": gettext_lazy("Console"),
    "sms": gettext_lazy("SMS"),
    "voice": gettext_lazy("Voice call"),
}


@login_required
def alert_detail(request, pk: int):
    """预警详情: the alert's full history, its escalation steps, every message sent."""
    _require_coordinator(request.user)
    alert = get_object_or_404(
        Alert.objects.select_related(
            "case",
            "target_user",
            "target_organisation",
            "assigned_organisation",
            "acknowledged_by",
            "resolved_by",
        ),
        pk=pk,
    )
    if not selectors.can_act_on_alert(request.user, alert):
        raise PermissionDenied(_("This alert is not addressed to you."))
    leg_id = (alert.data or {}).get("leg")
    mine = Q(alert=alert) | Q(leg_id=leg_id) if leg_id else Q(alert=alert)
    sent = OutboundMessage.objects.filter(mine)
    alert.life_safety = selectors.is_life_safety_alert(alert)
    said = _messages_by_item(request)
    alert.said = said.get(ALERT_TAG % alert.pk, []) + said.get("", [])
    alert.assignees = selectors.alert_assignees(alert)
    record_read(request.user, what="page.alert", case_ids=[alert.case_id])
    return render(
        request,
        "escalation/alert_detail.html",
        {
            "page_title": _("Alert #%(id)s") % {"id": alert.pk},
            "alert": alert,
            "history": _alert_history(alert),
            "sent": sent.select_related("recipient").order_by("id"),
            "steps": Timer.objects.filter(alert=alert, kind=Timer.Kind.ALERT_STEP).order_by("id"),
            "leg": DispatchLeg.objects.filter(pk=leg_id).select_related("organisation").first()
            if leg_id
            else None,
            "board_words": _words(),
            "organisations": Organisation.objects.filter(is_active=True).order_by("kind", "name"),
            "due_default": timezone.localtime(timezone.now() + timedelta(hours=24)).strftime(
                "%Y-%m-%dT%H:%M"
            ),
        },
    )


def _answer(request, tag: str, ok: bool, words: str, status: int, back: str):
    if request.headers.get("X-Board") == "1":
        return JsonResponse({"ok": ok, "message": words, "item": tag}, status=status)
    (messages.success if ok else messages.error)(request, words, extra_tags=tag)
    return redirect(back)


def _refused(request, tag: str, exc: DomainError, back: str, words: str | None = None):
    """A service's refusal: the board gets it as JSON; a form post gets a 403 page when the
    role may not act, otherwise the words beside the item."""
    if isinstance(exc, Forbidden):
        if request.headers.get("X-Board") != "1":
            raise PermissionDenied(exc.message) from exc
        words = exc.message
    return _answer(request, tag, False, words or exc.message, exc.status_code, back)


def _back(request, fallback: str) -> str:
    return same_site_next(request, fallback, within="/coordination/")


@require_POST
@login_required
def alert_action(request, pk: int, action: str):
    """确认、处置完毕（须写明）、改派给人、呼叫责任人."""
    _require_coordinator(request.user)
    if action not in ALERT_ACTIONS:
        raise Http404
    alert = get_object_or_404(Alert, pk=pk)
    tag = ALERT_TAG % alert.pk
    back = _back(request, reverse("escalation:coordinator") + f"#{tag}")
    try:
        if action == "acknowledge":
            services.acknowledge_alert(request.user, alert, via="board")
            words = _("Alert #%(id)s acknowledged: its escalation has stopped.") % {"id": pk}
        elif action == "resolve":
            services.resolve_alert(request.user, alert, note=request.POST.get("note", ""))
            words = _("Alert #%(id)s resolved.") % {"id": pk}
        elif action == "assign":
            user = User.objects.filter(pk=request.POST.get("user") or None).first()
            alert = services.assign_alert_to_user(request.user, alert, user=user)
            words = _("Alert #%(id)s handed to %(name)s.") % {"id": pk, "name": user}
        elif action == "handover":
            alert = _hand_over(request, alert)
            words = _("Alert #%(id)s handed over to %(org)s, to be resolved by %(due)s.") % {
                "id": pk,
                "org": alert.assigned_organisation.name,
                "due": timezone.localtime(alert.assignment_due).strftime("%Y-%m-%d %H:%M"),
            }
        else:
            message = services.call_alert_responder(request.user, alert)
            words = _("Calling %(to)s about alert #%(id)s.") % {"to": message.to, "id": pk}
    except DomainError as exc:
        return _refused(request, tag, exc, back, words=_refusal(exc))
    return _answer(request, tag, True, words, 200, back)


def _hand_over(request, alert: Alert) -> Alert:
    """交办督办 from the form: an organisation and a deadline (local time, in the future)."""
    organisation = Organisation.objects.filter(
        pk=request.POST.get("organisation") or None, is_active=True
    ).first()
    due = parse_datetime(request.POST.get("due", ""))
    if organisation is None:
        raise Invalid(
            _("Choose the organisation that takes the alert over."),
            fields={"organisation": [_("Required.")]},
        )
    if due is None:
        raise Invalid(_("Give the deadline as a date and time."), fields={"due": [_("Required.")]})
    if timezone.is_naive(due):
        due = timezone.make_aware(due)
    return services.reassign_alert(request.user, alert, organisation=organisation, due=due)


def _refusal(exc: DomainError) -> str:
    fields = getattr(exc, "fields", None) or {}
    if "note" in fields:
        return _("Write how the alert was resolved: the note is required.")
    return exc.message


@require_POST
@login_required
def leg_action(request, pk: int, action: str):
    """电话已联系上、备注、重发通知."""
    _require_coordinator(request.user)
    if action not in LEG_ACTIONS:
        raise Http404
    try:
        leg = services.get_leg(pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    tag = LEG_TAG % leg.pk
    kind = f"{leg.get_kind_display()}（{leg.organisation.name}）"
    back = _back(request, reverse("escalation:coordinator") + f"#{tag}")
    try:
        if action == "reached":
            services.leg_reached_by_phone(request.user, leg)
            words = _("%(kind)s marked reached by phone.") % {"kind": kind}
        elif action == "note":
            services.note_leg(request.user, leg, note=request.POST.get("note", ""))
            words = _("Note added to %(kind)s.") % {"kind": kind}
        else:
            sent = services.resend_leg(request.user, leg)
            words = _("%(kind)s notified again (%(n)s messages).") % {
                "kind": kind,
                "n": len(sent),
            }
    except DomainError as exc:
        return _refused(request, tag, exc, back)
    return _answer(request, tag, True, words, 200, back)


@require_POST
@login_required
def dispatch_close(request, pk: int):
    """结案: the outcome, whether help reached the person, and a note (the API's close)."""
    _require_coordinator(request.user)
    dispatch = get_object_or_404(Dispatch, pk=pk)
    tag = DISPATCH_TAG % dispatch.pk
    back = _back(request, reverse("escalation:coordinator") + f"#{tag}")
    help_reached = {"yes": True, "no": False}.get(request.POST.get("help_reached", ""))
    try:
        services.close_dispatch(
            request.user,
            dispatch,
            outcome=request.POST.get("outcome", ""),
            help_reached=help_reached,
            note=request.POST.get("note", ""),
        )
    except DomainError as exc:
        return _refused(request, tag, exc, back)
    return _answer(request, tag, True, _("Dispatch #%(id)s closed.") % {"id": pk}, 200, back)
