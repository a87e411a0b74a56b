"""One-key emergency dispatch (一键智达) and its responder legs: 110, 120, the community and the
on-duty expert alerted at once; each leg acknowledged by a person, progressed and closed. Where
it goes is ``location``; what it says to responders and the operator is ``briefs``."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Conflict, Forbidden, Invalid, NotFound, refused_as_conflict
from directory.access import has_role, is_administrator
from directory.models import Region, Role
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
    new_short_code,
)
from escalation.services.alerts import AlertSpec, raise_alert, resolve_by_system
from escalation.services.briefs import case_brief, leg_phones, sms_text, voice_text
from escalation.services.location import choose_legs, city_region, where
from escalation.services.notifications import queue_message
from escalation.services.responders import join_responder, responder_number
from escalation.services.timers import schedule
from hotline.caseplan import refresh_next_step
from hotline.models import TEXT_CHANNELS, Case, CaseAccess
from hotline.selectors import can_work_on_case
from hotline.services import end_access, grant_access
from realtime import audiences as aud
from realtime.publish import publish

# The operator may leave these out, never silently: a written reason goes on the dispatch.
OPTIONAL_KINDS = (ResponderKind.POLICE, ResponderKind.AMBULANCE)


def _ack_seconds(kind: str) -> int:
    return int(settings.ESCALATION_ACK_SECONDS.get(kind, settings.ESCALATION_ACK_SECONDS_DEFAULT))


def _runners(case: Case) -> set[str]:
    return aud.dispatch_runners(case.owning_organisation_id, case.audience_organisation_ids())


def _leg_audiences(leg: DispatchLeg) -> list[str]:
    """Need ``leg``: the leg's organisation and responder (their own leg only) and the runners."""
    return sorted(aud.leg(leg.organisation_id, leg.responder_id, _runners(leg.dispatch.case)))


def _dispatch_audiences(dispatch: Dispatch) -> list[str]:
    """Need ``dispatch``: the runners only; each responder hears of its own leg by leg events."""
    return sorted(_runners(dispatch.case))


def _require_dispatcher(actor, case: Case) -> None:
    if is_administrator(actor):
        return
    if not has_role(actor, Role.OPERATOR, Role.COORDINATOR) or not can_work_on_case(actor, case):
        raise Forbidden(_("Only an operator or coordinator who holds the case may dispatch."))


def _leave_out(leave_out: dict[str, str] | None) -> dict[str, str]:
    """Police and ambulance go with every dispatch unless the operator says why not."""
    leave_out = {k: (v or "").strip() for k, v in (leave_out or {}).items()}
    unknown = [k for k in leave_out if k not in OPTIONAL_KINDS]
    if unknown:
        raise Invalid(
            _("Only the police and the ambulance may be left out."),
            fields={"leave_out": [", ".join(unknown)]},
        )
    if any(not reason for reason in leave_out.values()):
        raise Invalid(
            _("Say why the police or the ambulance is not needed."),
            code="leave_out_reason",
            fields={"leave_out_reason": [_("Required when a responder is left out.")]},
        )
    return leave_out


def _add_leg(actor, dispatch: Dispatch, spec: dict, now) -> DispatchLeg:
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
        dispatch.case,
        leg.organisation,
        reason="dispatch",
        granted_by=actor,
        note=f"dispatch {dispatch.pk}",
    )
    return leg


def _end_dispatch_grants(dispatch: Dispatch, organisation_ids: set[int], *, at) -> None:
    """A dispatch's responders hold the case for the dispatch, not after it: their grants end
    at ``at`` unless another open dispatch of the case still has a leg with them."""
    # Lock the grants first, then look for other legs: a dispatch being created now either
    # renews the grant after this (its UPDATE waits) or has committed its leg before we look.
    list(
        CaseAccess.objects.select_for_update()
        .filter(
            case_id=dispatch.case_id,
            organisation_id__in=organisation_ids,
            reason=CaseAccess.Reason.DISPATCH,
            revoked_at__isnull=True,
        )
        .values_list("pk", flat=True)
    )
    still_needed = set(
        DispatchLeg.objects.filter(
            dispatch__case_id=dispatch.case_id, dispatch__status=Dispatch.Status.OPEN
        )
        .exclude(dispatch=dispatch)
        .values_list("organisation_id", flat=True)
    )
    for org_id in organisation_ids - still_needed:
        end_access(dispatch.case, org_id, reason=CaseAccess.Reason.DISPATCH, at=at)


def _raise_missing(dispatch: Dispatch, missing: list[str]) -> None:
    raise_alert(
        AlertSpec(
            dedup_key=f"dispatch_missing:{dispatch.pk}",
            kind="dispatch_responder_missing",
            title=_("Dispatch #%(id)s: no responder found for %(kinds)s")
            % {
                "id": dispatch.pk,
                "kinds": "、".join(str(ResponderKind(k).label) for k in missing),
            },
            severity=Severity.LIFE_SAFETY,
            case=dispatch.case,
            data={"dispatch": dispatch.pk, "missing": missing},
        )
    )


def create_dispatch(
    actor,
    case: Case,
    *,
    call=None,
    call_sid: str = "",
    address: str = "",
    region: Region | None = None,
    notes: str = "",
    leave_out: dict[str, str] | None = None,
) -> Dispatch:
    """一键智达: alert 110, 120, the community and the on-duty expert at once, on every channel.

    Never refused for lack of facts: with no place known, the city's 110 command centre and 120
    dispatch centre are asked to locate the caller, and what is missing is a warning
    (``Dispatch.warnings``). ``leave_out`` maps "police"/"ambulance" to the operator's reason.
    One open dispatch per case: a second press gets 409 naming the one already running.
    """
    _require_dispatcher(actor, case)
    if call is not None:
        if call.case_id != case.pk:
            raise Invalid(_("The call is not about this case."), fields={"call": [_("Mismatch.")]})
        # A text conversation has no phone call to bring 110/120 into (its id is not Twilio's).
        if call.channel not in TEXT_CHANNELS:
            call_sid = call_sid or call.call_sid
    address = (address or "").strip()
    skipped = _leave_out(leave_out)
    # Where the person is now (the address said on the call) before where they live.
    if region is None and address:
        region = selectors.region_named_in(address)
    region, warnings = where(address, region or case.person.home_region)
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
        legs, missing = choose_legs(
            region or city_region(), leave_out=skipped, location_known=not warnings
        )
        now = timezone.now()
        dispatch = Dispatch.objects.create(
            case=case,
            call=call,
            source_call_sid=call_sid or "",
            address=address,
            region=region if not warnings else None,
            notes=notes,
            missing_kinds=missing,
            skipped_kinds=skipped,
            warnings=warnings,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
            created_at=now,
        )
        for spec in legs:
            _add_leg(actor, dispatch, spec, now)
        publish(
            "dispatch.created",
            case=case,
            actor=actor,
            data={
                "dispatch": dispatch.pk,
                "address": address,
                "region": dispatch.region.code if dispatch.region else None,
                "legs": [
                    {"leg": leg.pk, "kind": leg.kind, "organisation": leg.organisation_id}
                    for leg in dispatch.legs.all()
                ],
                "missing": missing,
                "left_out": skipped,
                "warnings": warnings,
                "call_sid": dispatch.source_call_sid,
                "call": dispatch.call_id,
            },
            audiences=_dispatch_audiences(dispatch),
            include_case_audiences=False,
        )
        for leg in dispatch.legs.select_related("organisation", "responder"):
            _notify_leg(leg)
        if missing:
            _raise_missing(dispatch, missing)
        refresh_next_step(case, actor)
    return dispatch


def set_dispatch_location(
    actor, dispatch: Dispatch, *, region: Region | None = None, address: str = ""
) -> Dispatch:
    """Set or correct where the person is after help went out (定位更新).

    A community leg is added for the new place; a leg still waiting at the city level moves to
    the district's centre; every open leg is told the new place (an event and an SMS).
    """
    address = (address or "").strip()
    if region is None and not address:
        raise Invalid(
            _("Pick the place or type the address."),
            fields={
                "region": [_("Pick a place, or type an address.")],
                "address": [_("Pick a place, or type an address.")],
            },
        )
    with transaction.atomic():
        dispatch = (
            Dispatch.objects.select_for_update(of=("self",))
            .select_related("case__person", "call")
            .get(pk=dispatch.pk)
        )
        if not selectors.can_run_dispatch(actor, dispatch):
            raise Forbidden(_("Only the operators and coordinators running it may do this."))
        if dispatch.status != Dispatch.Status.OPEN:
            raise Conflict(_("The dispatch is already closed."), code="dispatch_closed")
        address = address or (dispatch.address if region is not None else "")
        region, warnings = where(address, region)
        dispatch.region = region if not warnings else None
        dispatch.address = address
        dispatch.warnings = warnings
        chosen, missing = choose_legs(
            region or city_region(),
            leave_out=dispatch.skipped_kinds,
            location_known=not warnings,
        )
        now = timezone.now()
        existing = {
            leg.kind: leg
            for leg in DispatchLeg.objects.select_for_update()
            .filter(dispatch=dispatch)
            .select_related("organisation")
        }
        added, moved, told = [], [], []
        for spec in chosen:
            leg = existing.get(spec["kind"])
            if leg is None:
                added.append(_add_leg(actor, dispatch, spec, now))
            elif (
                leg.organisation_id != spec["organisation"].pk
                and leg.state == LegState.NOTIFIED
                and leg.kind in OPTIONAL_KINDS
            ):
                moved.append(_move_leg(actor, leg, spec, now))
            elif leg.state in ACTIVE_LEG_STATES:
                told.append(leg)
        dispatch.missing_kinds = [k for k in missing if k not in existing]
        dispatch.save()
        publish(
            "dispatch.location_updated",
            case=dispatch.case,
            actor=actor,
            data={
                "dispatch": dispatch.pk,
                "address": dispatch.address,
                "region": region.code if region else None,
                "region_name": region.name if region else "",
                "warnings": warnings,
                "added": [leg.pk for leg in added],
                "moved": [leg.pk for leg in moved],
                "missing": dispatch.missing_kinds,
            },
            audiences=_dispatch_audiences(dispatch),
            include_case_audiences=False,
        )
        for leg in added + moved:
            _notify_leg(leg, timer_key=f"leg:{leg.pk}:deadline:{leg.organisation_id}")
        for leg in told:
            _tell_leg_new_location(actor, leg)
        if dispatch.missing_kinds:
            _raise_missing(dispatch, dispatch.missing_kinds)
        else:
            resolve_by_system(
                f"dispatch_missing:{dispatch.pk}", _("Every responder has been found.")
            )
    return dispatch


def _move_leg(actor, leg: DispatchLeg, spec: dict, now) -> DispatchLeg:
    """A leg nobody has acknowledged yet goes to the responder for the place now known."""
    old = leg.organisation
    leg.organisation = spec["organisation"]
    leg.responder = spec["responder"]
    leg.short_code = new_short_code()  # the old centre's code no longer acknowledges
    leg.notified_at = leg.state_changed_at = now
    leg.ack_deadline = now + timedelta(seconds=_ack_seconds(leg.kind))
    leg.save()
    if not leg.dispatch.legs.filter(organisation=old).exists():
        _end_dispatch_grants(leg.dispatch, {old.pk}, at=now)
    grant_access(
        leg.dispatch.case,
        leg.organisation,
        reason="dispatch",
        granted_by=actor,
        note=f"dispatch {leg.dispatch_id}",
    )
    publish(
        "dispatch.leg_reassigned",
        case=leg.dispatch.case,
        actor=actor,
        data={
            "dispatch": leg.dispatch_id,
            "leg": leg.pk,
            "kind": leg.kind,
            "organisation": leg.organisation_id,
            "from_organisation": old.pk,
            "state": leg.state,
        },
        audiences=[aud.org(old.pk), *_leg_audiences(leg)],
        include_case_audiences=False,
    )
    resolve_by_system(f"dispatch_leg:{leg.pk}", _("The leg went to the responder for the place."))
    return leg


def _tell_leg_new_location(actor, leg: DispatchLeg) -> None:
    brief = case_brief(leg.dispatch)
    leg_event("dispatch.leg_location_updated", leg, actor, brief=brief)
    for phone in leg_phones(leg):
        links = {"dispatch": leg.dispatch, "leg": leg, "recipient": leg.responder}
        queue_message(Channel.SMS, phone, sms_text(leg, update=True), **links)


def _notify_leg(leg: DispatchLeg, *, timer_key: str = "") -> None:
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
    for phone in leg_phones(leg):
        links = {"dispatch": leg.dispatch, "leg": leg, "recipient": leg.responder}
        queue_message(Channel.SMS, phone, sms_text(leg), **links)
        queue_message(Channel.VOICE, phone, voice_text(leg), **links)
    key = timer_key or f"leg:{leg.pk}:deadline"
    schedule(Timer.Kind.LEG_DEADLINE, key, leg.ack_deadline, leg=leg)


def locked_leg(leg: DispatchLeg) -> DispatchLeg:
    return (
        DispatchLeg.objects.select_for_update(of=("self",))
        .select_related("dispatch__case", "organisation")
        .get(pk=leg.pk)
    )


def leg_event(type_: str, leg: DispatchLeg, actor, **extra) -> None:
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
        leg = locked_leg(leg)
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
        leg_event("dispatch.leg_acknowledged", leg, actor, via=via, phone=phone)
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
        leg = locked_leg(leg)
        if not selectors.can_act_on_leg(actor, leg):
            raise Forbidden(_("This dispatch leg belongs to another organisation."))
        old = leg.state
        with refused_as_conflict(
            _("The leg is %(old)s and cannot become %(new)s.") % {"old": old, "new": state}
        ):
            getattr(leg, LEG_STEPS[state])()
        leg.state_changed_at = timezone.now()
        leg.save()
        leg_event("dispatch.leg_progressed", leg, actor, **{"from": old, "note": note})
    return leg


def fail_leg(actor, leg: DispatchLeg, *, reason: str) -> DispatchLeg:
    if not (reason or "").strip():
        raise Invalid(_("Say why the leg failed."), fields={"reason": [_("Required.")]})
    with transaction.atomic():
        leg = locked_leg(leg)
        if not selectors.can_act_on_leg(actor, leg):
            raise Forbidden(_("This dispatch leg belongs to another organisation."))
        with refused_as_conflict(_("The leg is already finished.")):
            leg.fail()
        leg.failure_reason = reason
        leg.state_changed_at = timezone.now()
        leg.save()
        leg_event("dispatch.leg_failed", leg, actor, reason=reason)
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
        _end_dispatch_grants(
            dispatch,
            {leg.organisation_id for leg in dispatch.legs.all()},
            at=dispatch.closed_at + timedelta(hours=settings.DISPATCH_GRANT_GRACE_HOURS),
        )
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
        refresh_next_step(dispatch.case, actor)
    return dispatch


CONFERENCE_KINDS = {
    "110": ResponderKind.POLICE,
    "120": ResponderKind.AMBULANCE,
    "expert": ResponderKind.EXPERT,
}


def bring_into_call(actor, dispatch: Dispatch, *, service: str) -> list[str]:
    """Bring 110, 120 or the expert into the live call (三方通话). A dispatch made on a hotline
    call joins them to that call's own conference (``responders.join_responder``); one made
    with only a call SID moves that call into a conference room of its own."""
    if service not in CONFERENCE_KINDS:
        raise Invalid(_("Choose 110, 120 or the expert."), fields={"service": [service]})
    if not selectors.can_run_dispatch(actor, dispatch):
        raise Forbidden(_("Only the operators and coordinators running it may do this."))
    leg = (
        dispatch.legs.filter(kind=CONFERENCE_KINDS[service])
        .select_related("organisation", "responder")
        .first()
    )
    if dispatch.call_id:
        return [join_responder(actor, dispatch, leg, service)]
    if not dispatch.source_call_sid:
        raise Invalid(_("This dispatch was not made on a live call."), code="no_call")
    number = responder_number(leg, service)
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
    # A leg moved to another centre has a later deadline and a timer of its own.
    if leg.state == LegState.NOTIFIED and leg.ack_deadline <= now:
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
