"""The call's conference (会议通话): its legs, hold, hang-up and transfers (转接).

Every accepted hotline call is a Twilio conference (``hotline.conference``); each leg is a
``ConferenceParticipant``. A service here locks the call, checks who acts and in what state,
asks Twilio (REST through ``core.telephony.twilio_client``; a refusal is a 409 and nothing is
written), then records the change and publishes it. Without a Twilio account (the embedded
console gateway) the same state is recorded and nothing is sent.

The conference's own status callbacks (``conference_event``) keep the legs true: who joined,
who left; the caller leaving ends the call.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from phonenumber_field.phonenumber import to_python
from twilio.base.exceptions import TwilioException

from core.errors import Conflict, Forbidden, Invalid, NotFound
from core.telephony import twilio_client, twilio_configured
from directory.access import has_role, organisation_ids
from directory.models import Membership, Organisation, OrganisationKind, Role
from hotline import conference, voice
from hotline.caseplan import on_duty_coordinator
from hotline.conference_models import (
    LIVE_PARTICIPANT,
    ConferenceParticipant,
    ParticipantRole,
    ParticipantStatus,
    TransferMode,
    TransferTarget,
)
from hotline.events import publish_call
from hotline.models import (
    Call,
    CallStatus,
    CaseAccess,
    Device,
    OperatorPresence,
    PresenceStatus,
    Shift,
)
from hotline.services.cases import grant_access
from hotline.services.presence import offer_waiting, presence_for, set_presence_status
from realtime import audiences as aud

log = logging.getLogger(__name__)

Leg = ConferenceParticipant


# --- Twilio ------------------------------------------------------------------------------------


def _centre(call: Call):
    """The centre whose staff answer the call: the partner after an overflow (溢出)."""
    return call.answering_centre or call.hotline


def _twilio(what: str, fn):
    """One REST request; Twilio's refusal becomes a 409 in words (the caller's state is kept)."""
    try:
        return fn(twilio_client())
    except TwilioException as exc:
        log.warning("conference request failed (%s): %s", what, exc)
        raise Conflict(
            _("The telephone service refused the request; please try again."),
            code="telephony_failed",
        ) from exc


def _conference_id(call: Call) -> str:
    if not call.conference_sid:
        raise Conflict(
            _("The call's conference has not started yet; wait a moment and try again."),
            code="conference_not_started",
        )
    return call.conference_sid


def _leg_id(leg: Leg) -> str:
    """Twilio finds a participant by its call SID, or by the label we gave it."""
    return leg.call_sid or _label(leg)


def _label(leg: Leg) -> str:
    return "caller" if leg.role == ParticipantRole.CALLER else f"{leg.role}-{leg.pk}"


def _dial(call: Call, leg: Leg, *, muted=False, coach_sid=None, early_media=True, hold=False):
    """Ring ``leg.target`` into the call's conference (by its name: Twilio creates or finds it)."""
    params = {
        "from_": settings.TWILIO_FROM_NUMBER,
        "to": leg.target,
        "label": _label(leg),
        "early_media": early_media,
        "beep": "false",
        "start_conference_on_enter": True,
        "end_conference_on_exit": False,
        "conference_status_callback": conference.status_callback_url(),
        "conference_status_callback_event": conference.CONFERENCE_EVENTS.split(),
        "conference_status_callback_method": "POST",
    }
    if muted:
        params["muted"] = True
    if hold:
        params["hold"] = True
    if coach_sid:
        params.update(coaching=True, call_sid_to_coach=coach_sid)
    created = _twilio(
        "add participant",
        lambda c: c.conferences(
            call.conference_sid or conference.conference_name(call)
        ).participants.create(**params),
    )
    return created.call_sid or ""


def _set_hold(call: Call, leg: Leg, on: bool) -> None:
    if not twilio_configured():
        return
    sid = _conference_id(call)
    if on:
        _twilio(
            "hold",
            lambda c: (
                c.conferences(sid)
                .participants(_leg_id(leg))
                .update(hold=True, hold_url=conference.hold_url(), hold_method="POST")
            ),
        )
    else:
        _twilio(
            "resume",
            lambda c: c.conferences(sid).participants(_leg_id(leg)).update(hold=False),
        )


def _remove(call: Call, leg: Leg) -> None:
    if not twilio_configured() or leg.status == ParticipantStatus.OFFERED:
        return
    sid = _conference_id(call)
    _twilio("remove participant", lambda c: c.conferences(sid).participants(_leg_id(leg)).delete())


# --- state -------------------------------------------------------------------------------------


def conference_state(call: Call) -> dict:
    """The call's live conference as the REST answers show it."""
    legs = call.participants.select_related("user").order_by("created_at", "id")
    return {
        "conference": {
            "name": conference.conference_name(call),
            "sid": call.conference_sid,
            "participants": [
                {
                    "id": leg.pk,
                    "role": leg.role,
                    "user": leg.user_id,
                    "name": str(leg.user) if leg.user_id else leg.target,
                    "status": leg.status,
                    "on_hold": leg.on_hold,
                    "muted": leg.muted,
                    "coaching": leg.coaching,
                    "transfer_mode": leg.transfer_mode,
                    "target_kind": leg.target_kind,
                }
                for leg in legs
            ],
        }
    }


def _lock_live(actor, call: Call) -> Call:
    """The call, locked, held by ``actor`` and in progress with the caller still on the line."""
    call = Call.objects.select_for_update().get(pk=call.pk)
    if call.operator_id != actor.pk:
        raise Forbidden(_("You do not hold this call."), code="not_your_call")
    if call.status != CallStatus.IN_PROGRESS:
        raise Conflict(
            _("The call is %(status)s; this cannot be done now.")
            % {"status": call.get_status_display()},
            code="wrong_call_status",
        )
    if call.ended_at is not None:
        raise Conflict(_("The caller has already hung up."), code="call_ended")
    return call


def _caller_leg(call: Call) -> Leg:
    leg = call.participants.filter(role=ParticipantRole.CALLER, status__in=LIVE_PARTICIPANT).first()
    if leg is None:
        raise Conflict(_("The caller is not in the conference."), code="caller_not_joined")
    return leg


def _transfer_leg(call: Call) -> Leg | None:
    return (
        # Only the leg's own row: FOR UPDATE cannot lock the nullable side of an outer join.
        call.participants.select_for_update(of=("self",))
        .filter(role=ParticipantRole.TRANSFER_TARGET, status__in=LIVE_PARTICIPANT)
        .select_related("user", "grant")
        .first()
    )


def start_conference(call: Call, operator, device: str) -> tuple[str, str]:
    """Accepting a call (``accept_call``'s connect step, outside its transaction): move the
    caller into the call's conference and ring the operator into it. Returns (via, target)."""
    target = voice.device_target(operator, device)
    caller = Leg.objects.create(
        call=call,
        role=ParticipantRole.CALLER,
        target=str(call.from_number) or call.from_raw,
        call_sid=call.call_sid if not call.call_sid.startswith("CALLBACK-") else "",
        status=ParticipantStatus.DIALLING,
    )
    leg = Leg.objects.create(call=call, role=ParticipantRole.OPERATOR, user=operator, target=target)
    if not twilio_configured():
        Leg.objects.filter(pk__in=[caller.pk, leg.pk]).update(
            status=ParticipantStatus.JOINED, joined_at=timezone.now()
        )
        return "console", target
    try:
        client = twilio_client()
        twiml = conference.caller_twiml(call)
        if caller.call_sid:
            client.calls(call.call_sid).update(twiml=twiml)
        else:  # a call-back: ring the person into the conference
            made = client.calls.create(
                to=str(call.from_number), from_=settings.TWILIO_FROM_NUMBER, twiml=twiml
            )
            Leg.objects.filter(pk=caller.pk).update(call_sid=made.sid)
        sid = _dial(call, leg)
        Leg.objects.filter(pk=leg.pk).update(call_sid=sid)
    except (TwilioException, Conflict):
        log.warning("connecting call %s to %s failed", call.call_sid, target, exc_info=True)
        return "failed", target
    return "twilio", target


def add_participant(
    call: Call,
    *,
    role: str,
    to: str,
    user=None,
    muted: bool = False,
    coach_sid: str | None = None,
    early_media: bool = True,
    actor=None,
) -> Leg:
    """Ring someone into the call's conference (a supervisor listening or whispering, a
    responder, an outside number); the row is written first so the join callback finds it.
    No permission check: the calling service checks who may add whom."""
    if role not in ParticipantRole.values:
        raise Invalid(_("Unknown participant role."), fields={"role": [_("Unknown value.")]})
    leg = Leg.objects.create(
        call=call,
        role=role,
        user=user,
        target=to,
        muted=muted,
        coaching=bool(coach_sid),
        added_by=actor,
    )
    if twilio_configured():
        leg.call_sid = _dial(call, leg, muted=muted, coach_sid=coach_sid, early_media=early_media)
        leg.save(update_fields=["call_sid"])
    else:
        leg.status, leg.joined_at = ParticipantStatus.JOINED, timezone.now()
        leg.save(update_fields=["status", "joined_at"])
    return leg


def hold(call: Call, user, on: bool) -> Call:
    """保留/恢复: put the caller on hold (they hear the hold message and music) or back."""
    with transaction.atomic():
        call = _lock_live(user, call)
        caller = _caller_leg(call)
        if caller.on_hold == on:
            raise Conflict(
                _("The caller is already on hold.") if on else _("The caller is not on hold."),
                code="hold_unchanged",
            )
        _set_hold(call, caller, on)
        caller.on_hold = on
        caller.save(update_fields=["on_hold"])
        if on:
            publish_call("call.held", call, user)
        else:
            publish_call("call.resumed", call, user)
    return call


def hang_up(call: Call, user) -> Call:
    """挂断: end the conference for everyone; triage and wrap-up follow as after any call."""
    now = timezone.now()
    with transaction.atomic():
        call = _lock_live(user, call)
        if twilio_configured():
            if call.conference_sid:
                _twilio(
                    "hang up",
                    lambda c: c.conferences(call.conference_sid).update(status="completed"),
                )
            else:
                _twilio("hang up", lambda c: c.calls(call.call_sid).update(status="completed"))
        _leave_all(call, now)
        call.ended_at = now
        call.save(update_fields=["ended_at"])
        publish_call("call.ended", call, user, by="operator")
    return call


def _leave_all(call: Call, now) -> None:
    live = call.participants.filter(status__in=LIVE_PARTICIPANT)
    # A receiver who never completed the transfer keeps no read of the case.
    pending = live.filter(role=ParticipantRole.TRANSFER_TARGET).exclude(grant=None)
    CaseAccess.objects.filter(
        pk__in=list(pending.values_list("grant_id", flat=True)), revoked_at=None
    ).update(revoked_at=now, ends_at=now)
    live.update(status=ParticipantStatus.LEFT, left_at=now, on_hold=False)


# --- transfers (转接) ----------------------------------------------------------------------------


def _on_shift(user, organisation_ids_, now) -> bool:
    return Shift.objects.filter(
        user=user, hotline_id__in=organisation_ids_, starts_at__lte=now, ends_at__gt=now
    ).exists()


def _counselling_centres(user) -> set[int]:
    return set(
        Membership.objects.active()
        .filter(
            user=user,
            role=Role.COUNSELLOR,
            organisation__kind=OrganisationKind.COUNSELLING_CENTRE,
        )
        .values_list("organisation_id", flat=True)
    )


def _resolve_target(call: Call, actor, target_kind: str, target_user, number: str):
    """(user, organisation id, dial target) of a transfer's receiver, or 400/409 in words."""
    now = timezone.now()
    if target_kind == TransferTarget.NUMBER:
        parsed = to_python((number or "").strip(), region="CN")
        if parsed is None or not parsed.is_valid():
            raise Invalid(
                _("Give the outside number in full, e.g. +8613800000000."),
                fields={"number": [_("Not a valid phone number.")]},
            )
        return None, None, str(parsed)
    if target_user is not None and target_user.pk == actor.pk:
        raise Invalid(
            _("You cannot transfer a call to yourself."),
            fields={"user": [_("Choose someone else.")]},
        )
    if target_kind == TransferTarget.OPERATOR:
        if target_user is None:
            raise Invalid(
                _("Choose the operator."), fields={"user": [_("This field is required.")]}
            )
        if not has_role(target_user, Role.OPERATOR, organisation=_centre(call)):
            raise Invalid(
                _("%(who)s is not an operator of this hotline.") % {"who": target_user},
                fields={"user": [_("Not an operator of this hotline.")]},
            )
        presence = OperatorPresence.objects.filter(user=target_user).first()
        if presence is None or presence.status != PresenceStatus.AVAILABLE:
            raise Conflict(
                _("%(who)s is not available now.") % {"who": target_user},
                code="receiver_unavailable",
            )
        return target_user, call.queue_centre_id, voice.device_target(target_user, presence.device)
    if target_kind == TransferTarget.SUPERVISOR:
        if target_user is None:
            target_user = on_duty_coordinator(call.queue_centre_id, now)
            if target_user is None:
                raise Conflict(
                    _("No coordinator is on duty at the hotline now; call one directly."),
                    code="no_supervisor_on_duty",
                )
        elif not has_role(target_user, Role.COORDINATOR, organisation=_centre(call)):
            raise Invalid(
                _("%(who)s is not a coordinator of this hotline.") % {"who": target_user},
                fields={"user": [_("Not a coordinator of this hotline.")]},
            )
        return (
            target_user,
            call.queue_centre_id,
            voice.device_target(target_user, Device.DESK_PHONE),
        )
    # The counsellor on duty: a counsellor of a counselling centre on a rostered shift there.
    if target_user is None:
        shift = (
            Shift.objects.filter(
                starts_at__lte=now,
                ends_at__gt=now,
                user__is_active=True,
                hotline__kind=OrganisationKind.COUNSELLING_CENTRE,
                user__memberships__role=Role.COUNSELLOR,
                user__memberships__organisation=F("hotline"),
            )
            .select_related("user")
            .order_by("starts_at", "id")
            .first()
        )
        if shift is None:
            raise Conflict(
                _("No counsellor of the counselling centre is on duty now."),
                code="no_counsellor_on_duty",
            )
        return shift.user, shift.hotline_id, voice.device_target(shift.user, Device.DESK_PHONE)
    centres = _counselling_centres(target_user)
    if not centres:
        raise Invalid(
            _("%(who)s is not a counsellor of a counselling centre.") % {"who": target_user},
            fields={"user": [_("Not a counsellor of a counselling centre.")]},
        )
    if not _on_shift(target_user, centres, now):
        raise Conflict(
            _("%(who)s is not on duty now.") % {"who": target_user}, code="receiver_unavailable"
        )
    return target_user, min(centres), voice.device_target(target_user, Device.DESK_PHONE)


def _transfer_data(call: Call, leg: Leg, actor) -> dict:
    case = call.case
    return {
        "transfer": leg.pk,
        "mode": leg.transfer_mode,
        "target_kind": leg.target_kind,
        "receiver": leg.user_id,
        "receiver_name": str(leg.user) if leg.user_id else leg.target,
        "reason": leg.reason,
        "from_operator_name": str(actor) if actor else "",
        "case_summary": case.summary[:300] if case is not None else "",
    }


def _receiver_audiences(leg: Leg) -> list[str]:
    return [aud.user(leg.user_id)] if leg.user_id else []


def start_transfer(
    call: Call,
    user,
    *,
    mode: str,
    target_kind: str,
    target_user=None,
    number: str = "",
    reason: str = "",
) -> Call:
    """转接: the caller is put on hold and the receiver is offered the call with its case
    (their screen shows it before they join). A warm transfer waits for the operator to
    complete it after consulting; a cold one hands the call over at once. An outside number
    (a school psychologist, a guardian) is rung at once."""
    if mode not in TransferMode.values:
        raise Invalid(_("A transfer is warm or cold."), fields={"mode": [_("Unknown value.")]})
    if target_kind not in TransferTarget.values:
        raise Invalid(
            _("Transfer to an operator, a counsellor, a supervisor or a number."),
            fields={"target": [_("Unknown value.")]},
        )
    if target_kind == TransferTarget.NUMBER and mode == TransferMode.COLD and not number:
        raise Invalid(_("Give the outside number."), fields={"number": [_("Required.")]})
    now = timezone.now()
    with transaction.atomic():
        call = _lock_live(user, call)
        if _transfer_leg(call) is not None:
            raise Conflict(
                _("A transfer of this call is already under way; complete or cancel it first."),
                code="transfer_in_progress",
            )
        receiver, receiver_org, target = _resolve_target(
            call, user, target_kind, target_user, number
        )
        caller = _caller_leg(call)
        if not caller.on_hold:
            _set_hold(call, caller, True)
            caller.on_hold = True
            caller.save(update_fields=["on_hold"])
        leg = Leg.objects.create(
            call=call,
            role=ParticipantRole.TRANSFER_TARGET,
            user=receiver,
            target=target,
            status=ParticipantStatus.OFFERED if receiver else ParticipantStatus.DIALLING,
            transfer_mode=mode,
            target_kind=target_kind,
            reason=reason[:200],
            added_by=user,
        )
        case = call.case
        if receiver is not None and case is not None:
            held = organisation_ids(receiver) & case.audience_organisation_ids()
            if not held:
                # Least privilege: a read of this case by the receiver alone, for a while.
                leg.grant = grant_access(
                    case,
                    Organisation.objects.get(pk=receiver_org),
                    reason=CaseAccess.Reason.CALL_TRANSFER,
                    granted_by=user,
                    note=_("Call transferred"),
                    user=receiver,
                    ends_at=now + timedelta(hours=settings.HOTLINE_TRANSFER_GRANT_HOURS),
                )
                leg.save(update_fields=["grant"])
        if receiver is None:
            if twilio_configured():
                leg.call_sid = _dial(call, leg)
                leg.save(update_fields=["call_sid"])
            else:
                leg.status, leg.joined_at = ParticipantStatus.JOINED, now
                leg.save(update_fields=["status", "joined_at"])
        publish_call(
            "call.transfer_offered",
            call,
            user,
            extra_audiences=_receiver_audiences(leg),
            **_transfer_data(call, leg, user),
        )
        if mode == TransferMode.COLD:
            _complete(call, leg, user, now)
    return call


def join_transfer(call: Call, user) -> Call:
    """The receiver, having read the case, joins: their phone or console is rung into the
    conference (the caller is still on hold in a warm transfer)."""
    with transaction.atomic():
        call = Call.objects.select_for_update().get(pk=call.pk)
        leg = _transfer_leg(call) or (
            call.participants.select_for_update()
            .filter(transfer_mode=TransferMode.COLD, status=ParticipantStatus.OFFERED)
            .first()
        )
        if leg is None or leg.user_id != user.pk:
            raise NotFound(_("No transfer of this call is offered to you."), code="no_transfer")
        if leg.status != ParticipantStatus.OFFERED:
            raise Conflict(_("You have already joined this call."), code="already_joined")
        if call.ended_at is not None:
            raise Conflict(_("The caller has already hung up."), code="call_ended")
        if twilio_configured():
            leg.call_sid = _dial(call, leg)
            leg.status = ParticipantStatus.DIALLING
        else:
            leg.status, leg.joined_at = ParticipantStatus.JOINED, timezone.now()
        leg.save(update_fields=["call_sid", "status", "joined_at"])
        if leg.status == ParticipantStatus.JOINED:
            _receiver_joined(call, leg, user)
        publish_call(
            "call.transfer_joining",
            call,
            user,
            extra_audiences=_receiver_audiences(leg),
            **_transfer_data(call, leg, None),
        )
    return call


def _receiver_joined(call: Call, leg: Leg, actor) -> None:
    """The receiver is in the conference: after a cold transfer the caller comes off hold."""
    if leg.transfer_mode == TransferMode.COLD:
        caller = call.participants.filter(
            role=ParticipantRole.CALLER, status__in=LIVE_PARTICIPANT
        ).first()
        if caller is not None and caller.on_hold:
            _set_hold(call, caller, False)
            caller.on_hold = False
            caller.save(update_fields=["on_hold"])


def complete_transfer(call: Call, user) -> Call:
    """The operator hands over after consulting: they leave, the caller comes off hold and
    the receiver holds the call (and its case's work) from now on."""
    now = timezone.now()
    with transaction.atomic():
        call = _lock_live(user, call)
        leg = _transfer_leg(call)
        if leg is None:
            raise Conflict(_("No transfer of this call is under way."), code="no_transfer")
        if leg.status != ParticipantStatus.JOINED:
            raise Conflict(
                _("%(who)s has not joined the call yet.")
                % {"who": str(leg.user) if leg.user_id else leg.target},
                code="receiver_not_joined",
            )
        caller = _caller_leg(call)
        if caller.on_hold:
            _set_hold(call, caller, False)
            caller.on_hold = False
            caller.save(update_fields=["on_hold"])
        _complete(call, leg, user, now)
    return call


def _complete(call: Call, leg: Leg, user, now) -> None:
    """The operator leaves; a receiving hotline operator becomes the call's operator."""
    mine = call.participants.filter(
        role=ParticipantRole.OPERATOR, user=user, status__in=LIVE_PARTICIPANT
    )
    for own in mine:
        _remove(call, own)
    mine.update(status=ParticipantStatus.LEFT, left_at=now)
    if not leg.user_id:
        leg.role = ParticipantRole.OUTSIDE
        leg.save(update_fields=["role"])
    else:
        leg.role = ParticipantRole.OPERATOR
        leg.save(update_fields=["role"])
    # Only a hotline operator records a call's triage: a counsellor or supervisor talks on while
    # the operator who took the call keeps it (and stays on it) until they record it.
    if leg.user_id and has_role(leg.user, Role.OPERATOR, organisation=_centre(call)):
        call.operator = leg.user
        call.save(update_fields=["operator"])
        mine_presence = OperatorPresence.objects.filter(user=user).first()
        if mine_presence is not None:
            set_presence_status(
                presence_for(user, call.queue_centre_id), PresenceStatus.AVAILABLE, user
            )
        set_presence_status(
            presence_for(leg.user, call.queue_centre_id), PresenceStatus.ON_CALL, user
        )
        offer_waiting(call.queue_centre_id, user)
    publish_call(
        "call.transfer_completed",
        call,
        user,
        extra_audiences=_receiver_audiences(leg),
        **_transfer_data(call, leg, user),
    )


def cancel_transfer(call: Call, user) -> Call:
    """The operator takes the call back: the receiver is removed (their case grant ends) and
    the caller comes off hold."""
    now = timezone.now()
    with transaction.atomic():
        call = _lock_live(user, call)
        leg = _transfer_leg(call)
        if leg is None:
            raise Conflict(_("No transfer of this call is under way."), code="no_transfer")
        _remove(call, leg)
        caller = _caller_leg(call)
        if caller.on_hold:
            _set_hold(call, caller, False)
            caller.on_hold = False
            caller.save(update_fields=["on_hold"])
        _end_transfer_leg(leg, now)
        publish_call(
            "call.transfer_cancelled",
            call,
            user,
            extra_audiences=_receiver_audiences(leg),
            **_transfer_data(call, leg, user),
        )
    return call


def _end_transfer_leg(leg: Leg, now) -> None:
    leg.status, leg.left_at = ParticipantStatus.LEFT, now
    leg.save(update_fields=["status", "left_at"])
    if leg.grant_id:
        CaseAccess.objects.filter(pk=leg.grant_id, revoked_at=None).update(
            revoked_at=now, ends_at=now
        )


# --- the conference's status callbacks -----------------------------------------------------------


def call_for_conference(name: str) -> Call:
    prefix = "hotline-call-"
    pk = name[len(prefix) :] if name.startswith(prefix) else ""
    call = Call.objects.filter(pk=int(pk)).first() if pk.isdigit() else None
    if call is None:
        raise NotFound(_("Unknown conference."), code="unknown_conference")
    return call


def conference_event(
    actor,
    *,
    name: str,
    conference_sid: str,
    event: str,
    call_sid: str = "",
    label: str = "",
    hold: bool | None = None,
    muted: bool | None = None,
) -> Call:
    """Twilio's conference status callback: legs join and leave; the caller leaving (or the
    conference ending) ends the call; the operator leaving alone ends the conference. A
    repeated delivery sets the same state again."""
    now = timezone.now()
    end_conference = False
    with transaction.atomic():
        call = Call.objects.select_for_update().get(pk=call_for_conference(name).pk)
        if conference_sid and not call.conference_sid:
            call.conference_sid = conference_sid
            call.save(update_fields=["conference_sid"])
        if event == "conference-end":
            _leave_all(call, now)
            _end_call(call, actor, now)
            return call
        leg = _find_leg(call, call_sid, label)
        if leg is None:
            return call
        if call_sid and not leg.call_sid:
            leg.call_sid = call_sid
        if event == "participant-join" and leg.status != ParticipantStatus.LEFT:
            first = leg.status != ParticipantStatus.JOINED
            leg.status, leg.joined_at = ParticipantStatus.JOINED, leg.joined_at or now
            leg.save()
            if first and leg.transfer_mode:
                _receiver_joined(call, leg, actor)
                publish_call(
                    "call.transfer_joined",
                    call,
                    actor,
                    extra_audiences=_receiver_audiences(leg),
                    **_transfer_data(call, leg, None),
                )
        elif event == "participant-leave" and leg.status != ParticipantStatus.LEFT:
            if leg.role == ParticipantRole.TRANSFER_TARGET:
                _end_transfer_leg(leg, now)
                publish_call(
                    "call.transfer_cancelled",
                    call,
                    actor,
                    extra_audiences=_receiver_audiences(leg),
                    **_transfer_data(call, leg, None),
                    by="receiver",
                )
            else:
                leg.status, leg.left_at, leg.on_hold = ParticipantStatus.LEFT, now, False
                leg.save()
            if leg.role == ParticipantRole.CALLER:
                _end_call(call, actor, now)
            elif (
                leg.role == ParticipantRole.OPERATOR
                and call.ended_at is None
                and not call.participants.filter(status__in=LIVE_PARTICIPANT)
                .exclude(role=ParticipantRole.CALLER)
                .exists()
            ):
                end_conference = True  # the caller must not stay alone on the line
        elif event in ("participant-hold", "participant-unhold") and hold is not None:
            leg.on_hold = hold
            leg.save()
        elif event in ("participant-mute", "participant-unmute") and muted is not None:
            leg.muted = muted
            leg.save()
        else:
            leg.save()
    if end_conference and twilio_configured() and call.conference_sid:
        try:
            twilio_client().conferences(call.conference_sid).update(status="completed")
        except TwilioException:
            log.warning("ending conference %s failed", call.conference_sid, exc_info=True)
    return call


def _find_leg(call: Call, call_sid: str, label: str) -> Leg | None:
    legs = call.participants.select_for_update(of=("self",)).select_related("user")
    if call_sid:
        leg = legs.filter(call_sid=call_sid).order_by("-id").first()
        if leg is not None:
            return leg
    if label == "caller" or (call_sid and call_sid == call.call_sid):
        return legs.filter(role=ParticipantRole.CALLER).order_by("-id").first()
    role, _sep, pk = label.rpartition("-")
    if pk.isdigit() and role in ParticipantRole.values:
        return legs.filter(pk=int(pk)).first()
    return None


def _end_call(call: Call, actor, now) -> None:
    if call.ended_at is None:
        call.ended_at = now
        call.save(update_fields=["ended_at"])
        publish_call("call.ended", call, actor)


__all__ = [
    "add_participant",
    "cancel_transfer",
    "complete_transfer",
    "conference_event",
    "conference_state",
    "hang_up",
    "hold",
    "join_transfer",
    "start_conference",
    "start_transfer",
]
