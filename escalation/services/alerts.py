"""Alerts and their escalation (预警与升级): raised once per condition, then stepped through a
frozen copy of their policy until a person acknowledges; hand-over with a deadline (交办督办)."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Conflict, Forbidden, Invalid, refused_as_conflict
from directory.models import Organisation, Role
from escalation import selectors
from escalation.models import Alert, AlertState, Channel, Severity, Timer
from escalation.policies import recipients, snapshot_for
from escalation.services.notifications import queue_message
from escalation.services.timers import schedule
from hotline.models import Case
from hotline.services import grant_access
from realtime import audiences as aud
from realtime.publish import publish


@dataclass
class AlertSpec:
    """What an alert source yields; ``dedup_key`` makes raising the same thing twice a no-op."""

    dedup_key: str
    kind: str
    title: str
    severity: str = Severity.WARNING
    target_user: object = None
    target_organisation: Organisation | None = None
    target_role: str = ""
    case: Case | None = None
    data: dict = field(default_factory=dict)


def raise_alert(spec: AlertSpec) -> tuple[Alert, bool]:
    """Raise an alert (or find the one already raised for the key); escalation starts at once."""
    existing = Alert.objects.filter(dedup_key=spec.dedup_key).first()
    if existing:
        return existing, False
    if spec.target_user is None and spec.target_organisation is None:
        centre = selectors.hotline_centre()
        spec.target_organisation, spec.target_role = centre, Role.COORDINATOR
    now = timezone.now()
    try:
        with transaction.atomic():
            alert = Alert.objects.create(
                dedup_key=spec.dedup_key,
                kind=spec.kind,
                title=str(spec.title)[:200],
                severity=spec.severity,
                case=spec.case,
                target_user=spec.target_user,
                target_organisation=spec.target_organisation,
                target_role=spec.target_role or "",
                data=spec.data,
                policy_snapshot=snapshot_for(spec.kind),
                raised_at=now,
                next_step_at=now,
            )
            schedule(Timer.Kind.ALERT_STEP, _step_key(alert, 0, 0), now, alert=alert)
            _alert_event("alert.raised", alert, None)
    except IntegrityError:
        # Two sources (a timer and the sweep) raising the same thing at once: one row wins.
        return Alert.objects.get(dedup_key=spec.dedup_key), False
    return alert, True


def _step_key(alert: Alert, round_: int, step: int) -> str:
    return f"alert:{alert.pk}:r{round_}:s{step}"


def alert_summary(alert: Alert) -> dict:
    return {
        "alert": alert.pk,
        "kind": alert.kind,
        "title": alert.title,
        "severity": alert.severity,
        "state": alert.state,
        "round": alert.round,
        "step": alert.step,
        "next_step_at": alert.next_step_at.isoformat() if alert.next_step_at else None,
        "code": alert.short_code,
        "data": alert.data,
    }


def _alert_audiences(alert: Alert, extra=()) -> list[str]:
    """Need ``alert``: who may act on it (selectors.can_act_on_alert), and the step's recipients."""
    centre = selectors.hotline_centre()
    found = set(extra) | aud.alert(
        target_user_id=alert.target_user_id,
        target_organisation_id=alert.target_organisation_id,
        target_role=alert.target_role,
        assigned_organisation_id=alert.assigned_organisation_id,
        notified_user_ids=alert.notified_user_ids or [],
        centre_id=centre.pk if centre else None,
    )
    return sorted(found)


def _alert_event(type_: str, alert: Alert, actor, extra_audiences=(), **extra) -> None:
    publish(
        type_,
        case=alert.case,
        actor=actor,
        data={**alert_summary(alert), **extra},
        audiences=_alert_audiences(alert, extra_audiences),
        include_case_audiences=False,
    )


def fire_alert_step(alert_id: int, round_: int, step_no: int, now: datetime) -> bool:
    """Timer: run one escalation step. Locks the alert and acts only if this step is still due."""
    alert = Alert.objects.select_for_update(of=("self",)).get(pk=alert_id)
    if alert.state != AlertState.OPEN or (alert.round, alert.step) != (round_, step_no):
        return False
    snapshot = alert.policy_snapshot
    steps = snapshot["steps"]
    step = steps[step_no]
    found = recipients(alert, step, round_)
    how = set(step.get("how", []))
    alert.notified_user_ids = sorted(
        set(alert.notified_user_ids or []) | {u.pk for u in found.users}
    )
    # Repeats carry the alert's CURRENT title and data (re-read above), not the first wording.
    text = _alert_text(alert)
    if Channel.SMS in how:
        for phone, user in found.phones:
            queue_message(Channel.SMS, phone, text, alert=alert, recipient=user)
    if Channel.VOICE in how:
        for phone, user in found.phones:
            queue_message(Channel.VOICE, phone, _alert_voice(alert), alert=alert, recipient=user)
    wait = int(step.get("wait", 0))
    if step_no + 1 < len(steps):
        nxt = (round_, step_no + 1)
    elif alert.is_life_safety or round_ + 1 < int(snapshot.get("max_rounds", 3)):
        nxt = (round_ + 1, 0)
    else:
        nxt = None
    alert.next_step_at = now + timedelta(seconds=max(wait, 1)) if nxt else None
    if nxt:
        alert.round, alert.step = nxt
        schedule(
            Timer.Kind.ALERT_STEP,
            _step_key(alert, *nxt),
            alert.next_step_at,
            alert=alert,
            round=nxt[0],
            step=nxt[1],
        )
    else:
        alert.step = len(steps)
    alert.save()
    _alert_event(
        "alert.notified",
        alert,
        None,
        extra_audiences=found.audiences if Channel.CONSOLE in how else (),
        fired_round=round_,
        fired_step=step_no,
        channels=sorted(how),
        users=[u.pk for u in found.users],
        phones=[p for p, _u in found.phones],
        exhausted=nxt is None,
    )
    return True


def _alert_text(alert: Alert) -> str:
    return (
        f"【心理援助热线预警】{alert.title}。"
        f"{'第' + str(alert.round + 1) + '轮升级。' if alert.round else ''}"
        f"请回复“1 {alert.short_code}”确认。"
    )


def _alert_voice(alert: Alert) -> str:
    return f"这里是心理援助热线预警：{alert.title}。"


def _locked_alert(alert: Alert) -> Alert:
    return Alert.objects.select_for_update(of=("self",)).get(pk=alert.pk)


def _unresolved_alert_for(actor, alert: Alert) -> Alert:
    """The alert locked, once the actor may act on it and it is not resolved (inside atomic)."""
    alert = _locked_alert(alert)
    if not selectors.can_act_on_alert(actor, alert):
        raise Forbidden(_("This alert is not addressed to you."))
    if alert.state == AlertState.RESOLVED:
        raise Conflict(_("This alert is already resolved."), code="already_resolved")
    return alert


def acknowledge_alert(actor, alert: Alert, *, via: str = "console", phone: str = "") -> Alert:
    """Acknowledge (确认): the escalation stops; the alert stays until resolved."""
    with transaction.atomic():
        alert = _locked_alert(alert)
        if actor is not None and not selectors.can_act_on_alert(actor, alert):
            raise Forbidden(_("This alert is not addressed to you."))
        with refused_as_conflict(
            _("This alert is already acknowledged or resolved."), code="already_acknowledged"
        ):
            alert.acknowledge()
        alert.acknowledged_at = timezone.now()
        alert.acknowledged_by = actor
        alert.next_step_at = None
        alert.save()
        _alert_event("alert.acknowledged", alert, actor, via=via, phone=phone)
    return alert


def _resolve(alert: Alert, actor, note: str) -> Alert:
    alert.resolve()
    alert.resolved_at = timezone.now()
    alert.resolved_by = actor
    alert.resolution_note = note
    alert.next_step_at = None
    alert.save()
    _alert_event("alert.resolved", alert, actor, note=note)
    return alert


def resolve_by_system(dedup_key: str, note: str) -> None:
    """Resolve every unresolved alert raised for ``dedup_key``: what it was about has happened."""
    for alert in Alert.objects.filter(dedup_key=dedup_key).exclude(state=AlertState.RESOLVED):
        _resolve(alert, None, note)


def resolve_alert(actor, alert: Alert, *, note: str) -> Alert:
    if not (note or "").strip():
        raise Invalid(_("Say how the alert was resolved."), fields={"note": [_("Required.")]})
    with transaction.atomic():
        alert = _unresolved_alert_for(actor, alert)
        return _resolve(alert, actor, note)


def reassign_alert(actor, alert: Alert, *, organisation: Organisation, due: datetime) -> Alert:
    """交办督办: hand the alert to another organisation, to be resolved by a deadline."""
    if not selectors.is_coordinator(actor):
        raise Forbidden(_("Only a coordinator may hand an alert over."))
    if due <= timezone.now():
        raise Invalid(_("The deadline must be in the future."), fields={"due": [_("In the past.")]})
    with transaction.atomic():
        alert = _unresolved_alert_for(actor, alert)
        alert.assigned_organisation = organisation
        alert.assignment_due = due
        alert.save()
        if alert.case_id:
            grant_access(alert.case, organisation, reason="care_group", granted_by=actor)
        schedule(
            Timer.Kind.ASSIGNMENT_DUE,
            f"assign:{alert.pk}:{int(due.timestamp())}:{organisation.pk}",
            due,
            alert=alert,
        )
        _alert_event(
            "alert.reassigned",
            alert,
            actor,
            organisation=organisation.pk,
            organisation_name=organisation.name,
            due=due.isoformat(),
        )
    return alert


def assignment_due(alert_id: int, now: datetime) -> None:
    """Timer: an assigned alert still unresolved at its deadline (督办) -> alert the coordinator."""
    alert = Alert.objects.select_related("assigned_organisation").get(pk=alert_id)
    if alert.state == AlertState.RESOLVED or not alert.assignment_due:
        return
    if alert.assignment_due > now:
        return  # reassigned again with a later deadline; that timer will come
    raise_alert(
        AlertSpec(
            dedup_key=f"assignment_overdue:{alert.pk}:{int(alert.assignment_due.timestamp())}",
            kind="assignment_overdue",
            title=_("%(org)s did not resolve alert #%(id)s by its deadline")
            % {"org": alert.assigned_organisation, "id": alert.pk},
            severity=Severity.CRITICAL,
            case=alert.case,
            data={"alert": alert.pk, "organisation": alert.assigned_organisation_id},
        )
    )


def clear_alert(alert: Alert) -> bool:
    """The system resolves an alert whose condition has gone (e.g. the referral was acknowledged).

    Returns whether it resolved it (another worker or a person may have got there first).
    """
    with transaction.atomic():
        alert = Alert.objects.select_for_update(of=("self",)).get(pk=alert.pk)
        if alert.state not in (AlertState.OPEN, AlertState.ACKNOWLEDGED):
            return False
        _resolve(alert, None, _("Cleared: the condition behind this alert is gone."))
    return True


# --- actions of the coordinator board (协调员看板) ----------------------------------------------


def assign_alert_to_user(actor, alert: Alert, *, user) -> Alert:
    """改派给人: the alert is now this person's; the next escalation steps go to them first."""
    if not selectors.is_coordinator(actor):
        raise Forbidden(_("Only a coordinator may hand an alert to a person."))
    with transaction.atomic():
        alert = _unresolved_alert_for(actor, alert)
        if user is None or user not in selectors.alert_assignees(alert):
            raise Invalid(
                _("Choose a coordinator or a member of the organisation the alert is for."),
                fields={"user": [_("Not someone who may take this alert.")]},
            )
        before = alert.target_user_id
        alert.target_user = user
        alert.save()
        _alert_event(
            "alert.assigned",
            alert,
            actor,
            extra_audiences=[aud.user(user.pk)],
            user=user.pk,
            user_name=str(user),
            previous_user=before,
        )
    return alert


def call_alert_responder(actor, alert: Alert) -> object:
    """呼叫责任人: a voice call through the gateway to the person or desk who must act."""
    if not selectors.is_coordinator(actor):
        raise Forbidden(_("Only a coordinator may call from the board."))
    with transaction.atomic():
        alert = _unresolved_alert_for(actor, alert)
        numbers = selectors.alert_call_numbers(alert)
        if not numbers:
            raise Invalid(
                _("Nobody to call: neither the person nor the organisation has a phone number."),
                code="no_number",
            )
        phone, user = numbers[0]
        message = queue_message(
            Channel.VOICE, phone, _alert_voice(alert), alert=alert, recipient=user
        )
        _alert_event("alert.call_placed", alert, actor, to=phone, message=message.pk)
    return message
