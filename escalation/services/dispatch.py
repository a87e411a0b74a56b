"""One-key emergency dispatch (一键智达) and its responder legs: 110, 120, the community and the
on-duty expert alerted at once; each leg acknowledged by a person, progressed and closed."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Conflict, Forbidden, Invalid, NotFound, refused_as_conflict
from directory.access import has_role, is_administrator
from directory.models import Organisation, OrganisationKind, Region, RegionLevel, Role
from escalation import gateway, selectors
from escalation.models import (
    ACTIVE_LEG_STATES,
    Alert,
    Channel,
    Dispatch,
    DispatchLeg,
    LegState,
    OutboundMessage,
    Outcome,
    ResponderKind,
    Severity,
    Timer,
)
from escalation.services.alerts import AlertSpec, raise_alert, resolve_by_system
from escalation.services.notifications import queue_message
from escalation.services.timers import schedule
from hotline.models import Case
from hotline.selectors import can_work_on_case
from hotline.services import grant_access
from realtime import audiences as aud
from realtime.publish import publish


def _nearest(kind: str, region: Region | None, *, capability: str = "") -> Organisation | None:
    """The organisation of ``kind`` closest to the region, walking up the tree."""
    if region is None:
        return None
    for r in reversed(region.ancestors()):
        qs = Organisation.objects.filter(region=r, is_active=True)
        qs = qs.filter(kind=kind) if kind else qs
        for org in qs.order_by("id"):
            if not capability or org.has_capability(capability):
                return org
    return None


def _choose_legs(region: Region | None) -> tuple[list[dict], list[str]]:
    legs: list[dict] = []
    missing: list[str] = []
    district = region.ancestor_at(RegionLevel.DISTRICT) if region else None
    city = region.ancestor_at(RegionLevel.CITY) if region else None
    candidates = {
        ResponderKind.POLICE: _nearest(OrganisationKind.POLICE, district or region),
        ResponderKind.AMBULANCE: _nearest(OrganisationKind.AMBULANCE, city)
        or _nearest(OrganisationKind.AMBULANCE, region),
        # Community committees sit at village level; walking up finds the person's own one.
        ResponderKind.COMMUNITY: _nearest(OrganisationKind.COMMUNITY, region),
    }
    for kind, org in candidates.items():
        if org is None:
            missing.append(kind.value)
        else:
            legs.append({"kind": kind, "organisation": org, "responder": None})
    shift = selectors.on_duty_expert_shift()
    if shift is not None:
        legs.append(
            {
                "kind": ResponderKind.EXPERT,
                "organisation": shift.organisation,
                "responder": shift.user,
            }
        )
    else:
        org = _nearest("", region or _city_region(), capability="psychiatric_expert")
        if org is None:
            missing.append(ResponderKind.EXPERT.value)
        else:
            legs.append({"kind": ResponderKind.EXPERT, "organisation": org, "responder": None})
    return legs, missing


def _city_region() -> Region | None:
    centre = selectors.hotline_centre()
    return centre.region if centre else None


def _ack_seconds(kind: str) -> int:
    return int(settings.ESCALATION_ACK_SECONDS.get(kind, settings.ESCALATION_ACK_SECONDS_DEFAULT))


def _leg_audiences(leg: DispatchLeg) -> list[str]:
    return [aud.org(leg.organisation_id)] + [
        aud.org(o.pk) for o in selectors.dispatch_runners(leg.dispatch.case)
    ]


def _dispatch_audiences(dispatch: Dispatch) -> list[str]:
    orgs = {o.pk for o in selectors.dispatch_runners(dispatch.case)}
    orgs |= set(dispatch.legs.values_list("organisation_id", flat=True))
    return [aud.org(pk) for pk in sorted(orgs)]


def case_brief(dispatch: Dispatch) -> dict:
    """The minimal case summary a responder sees (没有完整个案): who, risk, where, whom to call."""
    case = dispatch.case
    person = case.person
    return {
        "case": case.pk,
        "person": str(person),
        "phone": str(person.phone) if person.phone else "",
        "risk": case.risk,
        "risk_display": str(case.get_risk_display()),
        "address": dispatch.address,
        "region": dispatch.region.name if dispatch.region else "",
    }


def _sms_text(leg: DispatchLeg) -> str:
    brief = case_brief(leg.dispatch)
    where = brief["address"] or brief["region"]
    return (
        f"【心理援助热线紧急联动】个案#{brief['case']}（{brief['person']}，风险：{brief['risk_display']}）"
        f"需要{leg.get_kind_display()}立即处置。地点：{where}。"
        f"{'联系电话：' + brief['phone'] + '。' if brief['phone'] else ''}"
        f"请回复“1 {leg.short_code}”确认收到。"
    )


def _voice_text(leg: DispatchLeg) -> str:
    brief = case_brief(leg.dispatch)
    where = brief["address"] or brief["region"]
    return (
        f"这里是心理援助热线紧急联动。个案{brief['case']}，风险{brief['risk_display']}，"
        f"地点：{where}。请{leg.get_kind_display()}立即处置。"
    )


def _leg_phones(leg: DispatchLeg) -> list[str]:
    phones = []
    if leg.responder_id and leg.responder.phone:
        phones.append(str(leg.responder.phone))
    if leg.organisation.duty_phone:
        phones.append(str(leg.organisation.duty_phone))
    return list(dict.fromkeys(phones))


def _require_dispatcher(actor, case: Case) -> None:
    if is_administrator(actor):
        return
    if not has_role(actor, Role.OPERATOR, Role.COORDINATOR) or not can_work_on_case(actor, case):
        raise Forbidden(_("Only an operator or coordinator who holds the case may dispatch."))


def create_dispatch(
    actor,
    case: Case,
    *,
    call=None,
    call_sid: str = "",
    address: str = "",
    region: Region | None = None,
    notes: str = "",
) -> Dispatch:
    """一键智达: alert 110, 120, the community and the on-duty expert at once, on every channel.

    One open dispatch per case: a second press gets 409 naming the one already running.
    """
    _require_dispatcher(actor, case)
    if call is not None:
        if call.case_id != case.pk:
            raise Invalid(_("The call is not about this case."), fields={"call": [_("Mismatch.")]})
        call_sid = call_sid or call.call_sid
    address = (address or "").strip()
    region = region or case.person.home_region
    if not address and region is None:
        raise Invalid(
            _("Give the address said on the call or the person's region: responders need a place."),
            code="no_location",
            fields={"address": [_("Required when the person has no home region.")]},
        )
    with transaction.atomic():
        case = Case.objects.select_for_update().get(pk=case.pk)
        if not case.is_open:
            raise Conflict(_("The case is closed; reopen it first."), code="case_closed")
        running = Dispatch.objects.filter(case=case, status=Dispatch.Status.OPEN).first()
        if running is not None:
            raise Conflict(
                _("Emergency dispatch #%(id)s is already running for this case.")
                % {"id": running.pk},
                code="dispatch_open",
            )
        legs, missing = _choose_legs(region)
        now = timezone.now()
        dispatch = Dispatch.objects.create(
            case=case,
            call=call,
            source_call_sid=call_sid or "",
            address=address,
            region=region,
            notes=notes,
            missing_kinds=missing,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
            created_at=now,
        )
        for spec in legs:
            leg = DispatchLeg.objects.create(
                dispatch=dispatch,
                kind=spec["kind"],
                organisation=spec["organisation"],
                responder=spec["responder"],
                notified_at=now,
                state_changed_at=now,
                ack_deadline=now + timedelta(seconds=_ack_seconds(spec["kind"])),
            )
            grant_access(
                case,
                leg.organisation,
                reason="dispatch",
                granted_by=actor,
                note=f"dispatch {dispatch.pk}",
            )
        publish(
            "dispatch.created",
            case=case,
            actor=actor,
            data={
                "dispatch": dispatch.pk,
                "address": address,
                "region": region.code if region else None,
                "legs": [
                    {"leg": leg.pk, "kind": leg.kind, "organisation": leg.organisation_id}
                    for leg in dispatch.legs.all()
                ],
                "missing": missing,
                "call_sid": dispatch.source_call_sid,
                "call": dispatch.call_id,
            },
            audiences=_dispatch_audiences(dispatch),
            include_case_audiences=False,
        )
        for leg in dispatch.legs.select_related("organisation", "responder"):
            _notify_leg(leg)
        if missing:
            raise_alert(
                AlertSpec(
                    dedup_key=f"dispatch_missing:{dispatch.pk}",
                    kind="dispatch_responder_missing",
                    title=_("Dispatch #%(id)s: no responder found for %(kinds)s")
                    % {"id": dispatch.pk, "kinds": ", ".join(missing)},
                    severity=Severity.LIFE_SAFETY,
                    case=case,
                    data={"dispatch": dispatch.pk, "missing": missing},
                )
            )
    return dispatch


def _notify_leg(leg: DispatchLeg) -> None:
    """All channels at once: the console event, an SMS and a voice call asking to press 1."""
    publish(
        "dispatch.leg_notified",
        case=leg.dispatch.case,
        data={
            "dispatch": leg.dispatch_id,
            "leg": leg.pk,
            "kind": leg.kind,
            "organisation": leg.organisation_id,
            "code": leg.short_code,
            "ack_deadline": leg.ack_deadline.isoformat(),
            "brief": case_brief(leg.dispatch),
        },
        audiences=_leg_audiences(leg),
        include_case_audiences=False,
    )
    for phone in _leg_phones(leg):
        links = {"dispatch": leg.dispatch, "leg": leg, "recipient": leg.responder}
        queue_message(Channel.SMS, phone, _sms_text(leg), **links)
        queue_message(Channel.VOICE, phone, _voice_text(leg), **links)
    schedule(Timer.Kind.LEG_DEADLINE, f"leg:{leg.pk}:deadline", leg.ack_deadline, leg=leg)


def _locked_leg(leg: DispatchLeg) -> DispatchLeg:
    return (
        DispatchLeg.objects.select_for_update(of=("self",))
        .select_related("dispatch__case", "organisation")
        .get(pk=leg.pk)
    )


def _leg_event(type_: str, leg: DispatchLeg, actor, **extra) -> None:
    publish(
        type_,
        case=leg.dispatch.case,
        actor=actor,
        data={
            "dispatch": leg.dispatch_id,
            "leg": leg.pk,
            "kind": leg.kind,
            "organisation": leg.organisation_id,
            "state": leg.state,
            **extra,
        },
        audiences=_leg_audiences(leg),
        include_case_audiences=False,
    )


def acknowledge_leg(
    actor, leg: DispatchLeg, *, via: str = "console", phone: str = ""
) -> DispatchLeg:
    """A human acknowledgement (button, SMS reply, key press); a delivered SMS never counts.

    ``actor`` is None for a phone reply, whose number was checked by the webhook.
    """
    with transaction.atomic():
        leg = _locked_leg(leg)
        if actor is not None and not selectors.can_act_on_leg(actor, leg):
            raise Forbidden(_("This dispatch leg belongs to another organisation."))
        if leg.state != LegState.NOTIFIED:
            raise Conflict(_("This leg is already acknowledged."), code="already_acknowledged")
        leg.acknowledge()
        now = timezone.now()
        leg.acknowledged_at = leg.state_changed_at = now
        leg.acknowledged_by = actor
        leg.acknowledged_via = via
        leg.save()
        _leg_event("dispatch.leg_acknowledged", leg, actor, via=via, phone=phone)
        resolve_by_system(
            f"dispatch_leg:{leg.pk}", _("The responder acknowledged the dispatch leg.")
        )
    return leg


LEG_STEPS = {
    LegState.EN_ROUTE: "set_en_route",
    LegState.ON_SCENE: "arrive",
    LegState.DONE: "finish",
}


def advance_leg(actor, leg: DispatchLeg, state: str, *, note: str = "") -> DispatchLeg:
    """Report progress: en route (出发), on scene (到场), done (处置完毕)."""
    if state not in LEG_STEPS:
        raise Invalid(_("Unknown leg state: %s") % state, fields={"state": [state]})
    with transaction.atomic():
        leg = _locked_leg(leg)
        if not selectors.can_act_on_leg(actor, leg):
            raise Forbidden(_("This dispatch leg belongs to another organisation."))
        old = leg.state
        with refused_as_conflict(
            _("The leg is %(old)s and cannot become %(new)s.") % {"old": old, "new": state}
        ):
            getattr(leg, LEG_STEPS[state])()
        leg.state_changed_at = timezone.now()
        leg.save()
        _leg_event("dispatch.leg_progressed", leg, actor, **{"from": old, "note": note})
    return leg


def fail_leg(actor, leg: DispatchLeg, *, reason: str) -> DispatchLeg:
    if not (reason or "").strip():
        raise Invalid(_("Say why the leg failed."), fields={"reason": [_("Required.")]})
    with transaction.atomic():
        leg = _locked_leg(leg)
        if not selectors.can_act_on_leg(actor, leg):
            raise Forbidden(_("This dispatch leg belongs to another organisation."))
        with refused_as_conflict(_("The leg is already finished.")):
            leg.fail()
        leg.failure_reason = reason
        leg.state_changed_at = timezone.now()
        leg.save()
        _leg_event("dispatch.leg_failed", leg, actor, reason=reason)
    return leg


HELPED = {Outcome.PERSON_REACHED, Outcome.TAKEN_TO_HOSPITAL}


def close_dispatch(
    actor, dispatch: Dispatch, *, outcome: str, help_reached: bool | None, note: str = ""
) -> Dispatch:
    """Close once every leg is done or failed with a reason and the outcome is confirmed."""
    if outcome not in Outcome.values:
        raise Invalid(_("Choose an outcome."), fields={"outcome": [_("Required.")]})
    if help_reached is None:
        raise Invalid(
            _("Confirm whether help reached the person."), fields={"help_reached": [_("Required.")]}
        )
    if outcome in HELPED and not help_reached:
        raise Invalid(
            _("This outcome means help reached the person; confirm it."),
            fields={"help_reached": [_("Must be yes for this outcome.")]},
        )
    with transaction.atomic():
        dispatch = Dispatch.objects.select_for_update().select_related("case").get(pk=dispatch.pk)
        if not selectors.can_run_dispatch(actor, dispatch):
            raise Forbidden(
                _("Only the operators and coordinators running it may close a dispatch.")
            )
        open_legs = [leg for leg in dispatch.legs.all() if leg.state in ACTIVE_LEG_STATES]
        if open_legs:
            raise Conflict(
                _("Legs still open: %s. Each must be done, or failed with a reason.")
                % ", ".join(str(leg.get_kind_display()) for leg in open_legs),
                code="legs_open",
            )
        with refused_as_conflict(_("The dispatch is already closed.")):
            dispatch.close()
        dispatch.outcome = outcome
        dispatch.help_reached = help_reached
        dispatch.outcome_note = note
        dispatch.closed_at = timezone.now()
        dispatch.save()
        publish(
            "dispatch.closed",
            case=dispatch.case,
            actor=actor,
            data={
                "dispatch": dispatch.pk,
                "outcome": outcome,
                "help_reached": help_reached,
                "note": note,
            },
            audiences=_dispatch_audiences(dispatch),
            include_case_audiences=False,
        )
    return dispatch


CONFERENCE_KINDS = {"110": ResponderKind.POLICE, "120": ResponderKind.AMBULANCE}


def bring_into_call(actor, dispatch: Dispatch, *, service: str) -> list[str]:
    """Bring 110 or 120 into the live call (三方通话) through a Twilio conference."""
    if service not in CONFERENCE_KINDS:
        raise Invalid(_("Choose 110 or 120."), fields={"service": [service]})
    if not selectors.can_run_dispatch(actor, dispatch):
        raise Forbidden(_("Only the operators and coordinators running it may do this."))
    if not dispatch.source_call_sid:
        raise Invalid(_("This dispatch was not made on a live call."), code="no_call")
    leg = (
        dispatch.legs.filter(kind=CONFERENCE_KINDS[service]).select_related("organisation").first()
    )
    number = str(leg.organisation.duty_phone) if leg and leg.organisation.duty_phone else service
    room = f"dispatch-{dispatch.pk}"
    sids = gateway.bridge_into_conference(dispatch.source_call_sid, room, [number])
    with transaction.atomic():
        OutboundMessage.objects.create(
            channel=Channel.VOICE,
            to=number,
            body=f"conference {room}",
            gateway=gateway.gateway_name(),
            status=OutboundMessage.Status.SENT,
            provider_sid=sids[0] if sids and sids[0] else "",
            attempts=1,
            dispatch=dispatch,
            leg=leg,
            sent_at=timezone.now(),
        )
        publish(
            "dispatch.conference_joined",
            case=dispatch.case,
            actor=actor,
            data={"dispatch": dispatch.pk, "service": service, "to": number, "room": room},
            audiences=_dispatch_audiences(dispatch),
            include_case_audiences=False,
        )
    return sids


def leg_deadline_passed(leg_id: int, now: datetime) -> None:
    """Timer: the leg was not acknowledged in time -> a life-safety alert."""
    leg = DispatchLeg.objects.select_related("dispatch__case", "organisation").get(pk=leg_id)
    if leg.state == LegState.NOTIFIED:
        raise_alert(leg_alert_spec(leg))


def leg_alert_spec(leg: DispatchLeg) -> AlertSpec:
    return AlertSpec(
        dedup_key=f"dispatch_leg:{leg.pk}",
        kind="dispatch_leg_unacknowledged",
        title=_("%(kind)s has not acknowledged dispatch #%(id)s")
        % {"kind": leg.organisation.name, "id": leg.dispatch_id},
        severity=Severity.LIFE_SAFETY,
        target_organisation=leg.organisation,
        case=leg.dispatch.case,
        data={"dispatch": leg.dispatch_id, "leg": leg.pk, "kind": leg.kind},
    )


def find_by_code(code: str) -> DispatchLeg | Alert | None:
    code = (code or "").upper()
    return (
        DispatchLeg.objects.filter(short_code=code).select_related("dispatch__case").first()
        or Alert.objects.filter(short_code=code).first()
    )


def get_leg(pk) -> DispatchLeg:
    leg = DispatchLeg.objects.filter(pk=pk).select_related("dispatch__case").first()
    if leg is None:
        raise NotFound(_("No such dispatch leg."))
    return leg
