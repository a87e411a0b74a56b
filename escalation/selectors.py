"""Reads for escalation: who is on duty, who may see and act on dispatch legs and alerts."""

from datetime import timedelta

from django.db.models import Case, Q, When
from django.utils import timezone
from django.utils.translation import gettext as _

from directory.access import (
    DISPATCH_RUNNER_ROLES,
    has_role,
    is_administrator,
    memberships,
    organisation_ids,
    responder_organisation_ids,
)
from directory.models import (
    Membership,
    Organisation,
    OrganisationKind,
    Region,
    RegionLevel,
    Role,
    User,
)
from escalation.models import (
    ACTIVE_LEG_STATES,
    Alert,
    AlertState,
    Dispatch,
    DispatchLeg,
    DutyShift,
    LegState,
)
from hotline.caseplan import OpenItem
from hotline.selectors import can_work_on_case


def hotline_centre() -> Organisation | None:
    """The city hotline centre: the home of the final fallback (the on-duty coordinator)."""
    return (
        Organisation.objects.filter(kind=OrganisationKind.HOTLINE_CENTRE, is_active=True)
        .order_by("region__path", "id")
        .first()
    )


def region_named_in(text: str) -> Region | None:
    """The most precise region whose name the free-text address contains ("月河社区3幢" ->
    月河社区), or None. The region table is small (a city's villages), so it is read whole."""
    text = (text or "").strip()
    if not text:
        return None
    depth = {level: i for i, level in enumerate(RegionLevel.values)}
    found = [
        (depth.get(level, 0), len(name), pk)
        for pk, name, level in Region.objects.values_list("pk", "name", "level")
        if len(name) >= 2 and name in text
    ]
    if not found:
        return None
    return Region.objects.get(pk=max(found)[2])


def dispatch_runners(case) -> list[Organisation]:
    """Who runs a dispatch: the owning organisation and the hotline centre."""
    orgs = [case.owning_organisation]
    centre = hotline_centre()
    if centre and centre.pk != case.owning_organisation_id:
        orgs.append(centre)
    return orgs


def on_duty(role: str, *, now=None, organisation: Organisation | None = None) -> list[User]:
    """Who is rostered for ``role`` right now (值班)."""
    now = now or timezone.now()
    qs = DutyShift.objects.filter(
        role=role, starts_at__lte=now, ends_at__gt=now, user__is_active=True
    )
    if organisation is not None:
        qs = qs.filter(organisation=organisation)
    return [s.user for s in qs.select_related("user").order_by("starts_at", "id")]


def on_duty_coordinators(*, now=None) -> list[User]:
    """The on-duty coordinator(s); with nobody rostered, every coordinator of the hotline centre."""
    rostered = on_duty(Role.COORDINATOR, now=now)
    if rostered:
        return list(dict.fromkeys(rostered))
    centre = hotline_centre()
    if centre is None:
        return []
    return members(centre, Role.COORDINATOR)


def on_duty_expert_shift(*, now=None) -> DutyShift | None:
    now = now or timezone.now()
    return (
        DutyShift.objects.filter(
            role=Role.EXPERT, starts_at__lte=now, ends_at__gt=now, user__is_active=True
        )
        .select_related("user", "organisation")
        .order_by("starts_at", "id")
        .first()
    )


def members(organisation: Organisation, role: str | None = None) -> list[User]:
    qs = Membership.objects.active().filter(organisation=organisation, user__is_active=True)
    if role:
        qs = qs.filter(role=role)
    return list(dict.fromkeys(m.user for m in qs.select_related("user").order_by("id")))


def is_coordinator(user) -> bool:
    return is_administrator(user) or has_role(user, Role.COORDINATOR)


def can_act_on_leg(user, leg: DispatchLeg) -> bool:
    """The leg's own organisation and responder, or the people running the dispatch."""
    if is_administrator(user):
        return True
    if leg.responder_id == user.pk or leg.organisation_id in organisation_ids(user):
        return True
    return can_work_on_case(user, leg.dispatch.case) and not _only_a_responder_outside(user, leg)


def _only_a_responder_outside(user, leg: DispatchLeg) -> bool:
    # A responder of another dispatch leg (e.g. the police) sees the case only through its own
    # leg; it may not drive the community's leg.
    other_legs = set(leg.dispatch.legs.values_list("organisation_id", flat=True))
    return bool(organisation_ids(user) & other_legs) and not has_role(
        user, Role.OPERATOR, Role.COORDINATOR
    )


def can_run_dispatch(user, dispatch: Dispatch) -> bool:
    """Operators and coordinators who hold the case run the dispatch (close it, add 110/120)."""
    if is_administrator(user):
        return True
    if not has_role(user, *DISPATCH_RUNNER_ROLES):
        return False
    return case_holder(user, dispatch)


def case_holder(user, dispatch: Dispatch) -> bool:
    case = dispatch.case
    mine = organisation_ids(user, roles=DISPATCH_RUNNER_ROLES)
    return case.owning_organisation_id in mine or (
        is_coordinator(user) and can_work_on_case(user, case)
    )


def visible_legs(user):
    """Responders see only their own leg; case holders see every leg of their dispatches."""
    if is_administrator(user):
        return DispatchLeg.objects.all()
    if not user or not user.is_authenticated:
        return DispatchLeg.objects.none()
    orgs = organisation_ids(user)
    runner_orgs = organisation_ids(user, roles=DISPATCH_RUNNER_ROLES)
    return DispatchLeg.objects.filter(
        Q(organisation__in=orgs)
        | Q(responder=user)
        | Q(dispatch__case__owning_organisation__in=runner_orgs)
    ).distinct()


def visible_dispatches(user):
    if is_administrator(user):
        return Dispatch.objects.all()
    runner_orgs = organisation_ids(user, roles=DISPATCH_RUNNER_ROLES)
    return Dispatch.objects.filter(
        Q(pk__in=visible_legs(user).values("dispatch_id"))
        | Q(case__owning_organisation__in=runner_orgs)
    )


def sees_whole_dispatch(user, dispatch: Dispatch) -> bool:
    return is_administrator(user) or case_holder(user, dispatch)


def open_dispatches_of(case):
    return Dispatch.objects.filter(case=case, status=Dispatch.Status.OPEN)


def can_act_on_alert(user, alert: Alert) -> bool:
    """Its target, anyone it was escalated to, the hotline centre's coordinators, administrators."""
    if not user or not user.is_authenticated:
        return False
    if is_administrator(user) or alert.target_user_id == user.pk:
        return True
    if user.pk in (alert.notified_user_ids or []):
        return True
    for m in memberships(user):
        if m.organisation_id in (alert.target_organisation_id, alert.assigned_organisation_id) and (
            not alert.target_role or m.role == alert.target_role or m.role == Role.COORDINATOR
        ):
            return True
        if m.role == Role.COORDINATOR and m.organisation.kind == OrganisationKind.HOTLINE_CENTRE:
            return True
    return False


def visible_alerts(user):
    if is_administrator(user):
        return Alert.objects.all()
    if not user or not user.is_authenticated:
        return Alert.objects.none()
    ids = [a.pk for a in Alert.objects.all().only(*_ALERT_ACL_FIELDS) if can_act_on_alert(user, a)]
    return Alert.objects.filter(pk__in=ids)


_ALERT_ACL_FIELDS = (
    "id",
    "target_user",
    "target_organisation",
    "target_role",
    "notified_user_ids",
    "assigned_organisation",
)


def open_alerts(user):
    return (
        visible_alerts(user)
        .exclude(state=AlertState.RESOLVED)
        .select_related("case", "target_organisation", "assigned_organisation")
        .order_by("next_step_at", "id")
    )


def responder_legs(user):
    """The legs addressed to this responder (处置任务): its organisations' legs and its own."""
    if not user or not user.is_authenticated:
        return DispatchLeg.objects.none()
    return DispatchLeg.objects.filter(
        Q(organisation__in=responder_organisation_ids(user)) | Q(responder=user)
    ).select_related("dispatch__case__person", "dispatch__region", "organisation", "responder")


def open_legs_for_responder(user):
    """Open legs first those still waiting for 收到 (soonest deadline first), then the rest."""
    return (
        responder_legs(user)
        .filter(state__in=ACTIVE_LEG_STATES)
        .annotate(waiting=Case(When(state=LegState.NOTIFIED, then=0), default=1))
        .order_by("waiting", "ack_deadline", "id")
    )


def recent_closed_legs_for_responder(user, *, hours: int = 12):
    since = timezone.now() - timedelta(hours=hours)
    return (
        responder_legs(user)
        .filter(state__in=[LegState.DONE, LegState.FAILED], state_changed_at__gte=since)
        .order_by("-state_changed_at", "-id")
    )


# --- the coordinator board (协调员看板) -------------------------------------------------------


def is_life_safety_alert(alert: Alert) -> bool:
    """生命安全: the model's own severity; every alert a dispatch raises is raised with it."""
    return alert.is_life_safety


def board_alerts(user):
    """Open and acknowledged alerts, life-safety first, then the unacknowledged, soonest first."""
    order = Case(When(severity="life_safety", then=0), default=1)
    waiting = Case(When(state=AlertState.OPEN, then=0), default=1)
    return (
        open_alerts(user)
        .select_related("target_user", "acknowledged_by")
        .annotate(life_first=order, waiting_first=waiting)
        .order_by("life_first", "waiting_first", "next_step_at", "-id")
    )


def alert_assignees(alert: Alert) -> list[User]:
    """Who may take an alert over (改派): the hotline centre's coordinators and the people of
    the organisation it is addressed to (in its role, if it names one)."""
    people: list[User] = []
    centre = hotline_centre()
    if centre is not None:
        people += members(centre, Role.COORDINATOR)
    for org in (alert.target_organisation, alert.assigned_organisation):
        if org is not None:
            people += members(org, alert.target_role or None) if org != centre else []
    return list(dict.fromkeys(people))


def alert_call_numbers(alert: Alert) -> list[tuple[str, User | None]]:
    """Whom 呼叫责任人 rings: the leg's responder and duty phone for a dispatch alert, else the
    alert's own person, then its organisation's duty phone."""
    found: list[tuple[str, User | None]] = []
    leg_id = (alert.data or {}).get("leg")
    leg = (
        DispatchLeg.objects.filter(pk=leg_id).select_related("responder", "organisation").first()
        if leg_id
        else None
    )
    if leg is not None:
        if leg.responder_id and leg.responder.phone:
            found.append((str(leg.responder.phone), leg.responder))
        if leg.organisation.duty_phone:
            found.append((str(leg.organisation.duty_phone), None))
    if alert.target_user_id and alert.target_user.phone:
        found.append((str(alert.target_user.phone), alert.target_user))
    for org in (alert.assigned_organisation, alert.target_organisation):
        if org is not None and org.duty_phone:
            found.append((str(org.duty_phone), None))
    seen: dict[str, User | None] = {}
    for phone, user in found:
        seen.setdefault(phone, user)
    return list(seen.items())


# --- the case's open items (hotline.caseplan) ---------------------------------------------


def case_items(case) -> list[OpenItem]:
    """A one-key dispatch under way: due when its responders must have confirmed, and open
    until someone running it closes it with the outcome."""
    items = []
    for d in Dispatch.objects.filter(case=case, status=Dispatch.Status.OPEN):
        deadlines = [leg.ack_deadline for leg in d.legs.all()]
        items.append(
            OpenItem(
                key=f"dispatch:{d.pk}",
                kind="dispatch",
                text=_(
                    "Emergency dispatch #%(id)s (one-key) under way: close it when help has arrived"
                )
                % {"id": d.pk},
                due=min(deadlines, default=d.created_at),
            )
        )
    return items
