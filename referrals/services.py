"""Writes of referrals (转介), appointments and green-channel bookings (绿色通道).

Every function takes the acting user, checks permission, changes state in one transaction,
publishes an event to the sending and receiving organisations, and returns the model.
"""

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Conflict, Forbidden, Invalid, NotFound, refused_as_conflict
from directory.access import has_role, is_administrator
from directory.models import Organisation, OrganisationKind, Role
from hotline import services as hotline_services
from hotline.caseplan import refresh_next_step
from hotline.models import RISK_ORDER, Case, CaseAccess, Risk, Stage
from hotline.selectors import can_work_on_case, case_organisation_ids, eligible_owners
from realtime import audiences as aud
from realtime.publish import publish
from referrals import selectors
from referrals.deadlines import acknowledgement_deadline
from referrals.models import (
    Appointment,
    AppointmentChannel,
    CounsellorSlot,
    GreenChannelBooking,
    HospitalService,
    HospitalSlot,
    PreAssessment,
    Referral,
    ReferralKind,
    ReferralState,
)
from referrals.signals import referral_changed

RECEIVER_KINDS = {
    ReferralKind.COUNSELLING: [OrganisationKind.COUNSELLING_CENTRE],
    ReferralKind.GREEN_CHANNEL: [OrganisationKind.HOSPITAL],
    ReferralKind.CONSORTIUM: [OrganisationKind.CONSORTIUM_HOSPITAL],
    ReferralKind.CARE_GROUP: [OrganisationKind.CARE_GROUP],
}
SENDER_KINDS = {
    ReferralKind.COUNSELLING: [OrganisationKind.HOTLINE_CENTRE],
    ReferralKind.GREEN_CHANNEL: [OrganisationKind.COUNSELLING_CENTRE],
    ReferralKind.CONSORTIUM: [OrganisationKind.HOSPITAL],
    ReferralKind.CARE_GROUP: None,  # any organisation holding the case
}
RECEIVER_ROLES = (Role.COUNSELLOR, Role.HOSPITAL_STAFF, Role.COORDINATOR, Role.EXPERT)


def _advance(actor, case: Case, stage: str, *, reason: str) -> Case:
    """Advance from facts; re-read the case first, an earlier step may have moved it."""
    fresh = Case.objects.get(pk=case.pk)
    return hotline_services.advance_case_if_behind(actor, fresh, stage, reason=reason)


def _data(referral: Referral, **extra) -> dict:
    return {
        "referral": referral.pk,
        "kind": referral.kind,
        "state": referral.state,
        "urgency": referral.urgency,
        "sender": referral.sender_id,
        "receiver": referral.receiver_id,
        "receiver_name": referral.receiver.name,
        "ack_due_at": referral.ack_due_at.isoformat(),
        **extra,
    }


def _publish(type_: str, referral: Referral, actor, **extra) -> None:
    """Need ``referral``: its two ends' case roles and who sent it, not every holder of the case."""
    audiences = aud.referral(referral.sender_id, referral.receiver_id, referral.sent_by_id)
    publish(
        type_, case=referral.case, actor=actor, data=_data(referral, **extra), audiences=audiences
    )


def _locked(referral: Referral | int) -> Referral:
    pk = referral.pk if isinstance(referral, Referral) else referral
    try:
        return Referral.objects.select_for_update().select_related("case", "receiver").get(pk=pk)
    except Referral.DoesNotExist as exc:
        raise NotFound(_("No such referral.")) from exc


def _require_receiver(actor, referral: Referral) -> None:
    if is_administrator(actor):
        return
    if not has_role(actor, *RECEIVER_ROLES, organisation=referral.receiver):
        raise Forbidden(_("This referral was not sent to your organisation."))


def _require_sender(actor, referral: Referral) -> None:
    if is_administrator(actor):
        return
    if referral.sender_id not in case_organisation_ids(actor):
        raise Forbidden(_("Only the sending organisation may do this."))


def _transition(referral: Referral, name: str) -> None:
    with refused_as_conflict(
        _("The referral is %(state)s; it cannot be %(action)s now.")
        % {"state": referral.get_state_display().lower(), "action": name.replace("_", " ")}
    ):
        getattr(referral, name)()


def _changed(actor, referral: Referral, change: str) -> None:
    referral_changed.send(sender=Referral, actor=actor, referral=referral, change=change)
    refresh_next_step(referral.case, actor)


def _sender_for(actor, case: Case, kind: str, sender: Organisation | None) -> Organisation:
    allowed = SENDER_KINDS[kind]
    if sender is None:
        candidates = Organisation.objects.filter(
            pk__in=case_organisation_ids(actor) & case.audience_organisation_ids()
        )
        if allowed:
            candidates = candidates.filter(kind__in=allowed)
        sender = candidates.order_by("pk").first()
        if sender is None and is_administrator(actor):
            sender = case.owning_organisation
    if sender is None:
        raise Forbidden(_("You do not work for an organisation that may send this referral."))
    if not is_administrator(actor) and sender.pk not in case_organisation_ids(actor):
        raise Forbidden(_("You do not work for the sending organisation."))
    if sender.pk not in case.audience_organisation_ids():
        raise Forbidden(_("The sending organisation does not hold this case."))
    if allowed and sender.kind not in allowed:
        raise Invalid(
            _("A %(kind)s referral is sent by a %(sender)s.")
            % {
                "kind": ReferralKind(kind).label,
                "sender": OrganisationKind(allowed[0]).label,
            },
            fields={"kind": [kind]},
        )
    return sender


def send_referral(
    actor,
    case: Case,
    *,
    kind: str,
    receiver: Organisation | None = None,
    sender: Organisation | None = None,
    reason: str = "",
    snapshot: dict | None = None,
    consent: bool = False,
    consent_override_reason: str = "",
    urgency: str | None = None,
    parent: Referral | None = None,
    service: str = "",
    slot: HospitalSlot | None = None,
) -> Referral:
    """转介: push a case to another organisation, granting it access, with a deadline."""
    if kind not in RECEIVER_KINDS:
        raise Invalid(_("Unknown referral kind: %s") % kind, fields={"kind": [kind]})
    if not can_work_on_case(actor, case):
        raise Forbidden(_("This case belongs to an organisation you do not work for."))
    if not case.is_open:
        raise Conflict(_("The case is closed; reopen it before referring."), code="case_closed")
    if not consent and not consent_override_reason.strip():
        raise Invalid(
            _("Record the person's consent, or the reason for referring without it."),
            fields={"consent_override_reason": ["required without consent"]},
        )
    urgency = urgency or case.risk
    if urgency not in RISK_ORDER:
        raise Invalid(_("Unknown risk level: %s") % urgency, fields={"urgency": [urgency]})
    sender = _sender_for(actor, case, kind, sender)
    if kind == ReferralKind.CONSORTIUM and receiver is None:
        receiver = selectors.consortium_hospital_for(case.person)
        if receiver is None:
            raise Invalid(
                _("No consortium hospital covers the person's district; record the home region."),
                code="no_receiver",
            )
    if kind == ReferralKind.COUNSELLING and receiver is None:
        receiver = selectors.counselling_centre_for(case.person)
    if receiver is None:
        raise Invalid(_("Say which organisation receives the referral."), code="no_receiver")
    if receiver.kind not in RECEIVER_KINDS[kind] or not receiver.is_active:
        raise Invalid(
            _("%(org)s cannot receive this kind of referral.") % {"org": receiver.name},
            fields={"receiver": [receiver.pk]},
        )
    if kind == ReferralKind.GREEN_CHANNEL and service not in HospitalService.values:
        raise Invalid(
            _("A green-channel transfer books a hospital service: youth ward or self-harm clinic."),
            fields={"service": [service]},
        )
    with transaction.atomic():
        case = Case.objects.select_for_update().get(pk=case.pk)
        if Referral.objects.active().filter(case=case, receiver=receiver).exists():
            raise Conflict(
                _("This case already has an open referral to %(org)s.") % {"org": receiver.name},
                code="duplicate_referral",
            )
        now = timezone.now()
        person = case.person
        snap = {
            "person": str(person),
            "contact_phone": str(person.phone) if person.phone else "",
            "risk": case.risk,
            "case_summary": case.summary,
            **(snapshot or {}),
        }
        referral = Referral.objects.create(
            case=case,
            kind=kind,
            sender=sender,
            receiver=receiver,
            sent_by=actor if actor.is_authenticated else None,
            parent=parent,
            urgency=urgency,
            reason=reason,
            snapshot=snap,
            consent=consent,
            consent_override_reason=consent_override_reason,
            sent_at=now,
            ack_due_at=acknowledgement_deadline(urgency, now),
        )
        hotline_services.grant_access(
            case, receiver, reason=CaseAccess.Reason.REFERRAL, granted_by=actor
        )
        case = _advance(actor, case, Stage.INTERVENTION, reason="referral")
        referral.case = case
        _publish("referral.sent", referral, actor, reason=reason)
        if kind == ReferralKind.GREEN_CHANNEL:
            _book_green_channel(actor, referral, service, slot, now)
        _changed(actor, referral, "sent")
    return referral


def _book_green_channel(actor, referral: Referral, service: str, slot, now) -> None:
    hospital = referral.receiver
    if slot is not None:
        if slot.hospital_id != hospital.pk or slot.service != service:
            raise Invalid(
                _("That slot belongs to another hospital service."), fields={"slot": [slot.pk]}
            )
        # Lock the slot so two counsellors booking its last place count the same bookings.
        slot = HospitalSlot.objects.select_for_update().get(pk=slot.pk)
    else:
        slot = selectors.free_hospital_slot(hospital, service, now)
        if slot is not None:
            slot = HospitalSlot.objects.select_for_update().get(pk=slot.pk)
    over = slot is None or slot.bookings.count() >= slot.capacity
    booking = GreenChannelBooking.objects.create(
        referral=referral, service=service, slot=slot, over_capacity=over, booked_by=actor
    )
    _publish(
        "green_channel.booked",
        referral,
        actor,
        booking=booking.pk,
        service=service,
        slot=slot.pk if slot else None,
        starts_at=slot.starts_at.isoformat() if slot else None,
        over_capacity=over,
    )


def refer_from_disposition(actor, case: Case, summary: dict) -> Referral:
    """The "refer" disposition: push the case to the counselling centre at the same moment."""
    centre = selectors.counselling_centre_for(case.person)
    if centre is None:
        raise Invalid(
            _("No active counselling centre to refer to; choose another disposition."),
            code="no_receiver",
        )
    if Referral.objects.active().filter(case=case, receiver=centre).exists():
        raise Conflict(
            _(
                "This case already has an open referral to %(org)s: choose \u201ccontinue the "
                "existing referral\u201d to add this call to it."
            )
            % {"org": centre.name},
            code="duplicate_referral",
        )
    return send_referral(
        actor,
        case,
        kind=ReferralKind.COUNSELLING,
        receiver=centre,
        reason=summary.get("notes", ""),
        snapshot=summary,
        consent=bool(summary.get("consent")),
        consent_override_reason=summary.get("consent_override_reason") or "",
        urgency=summary.get("risk") or case.risk,
    )


def continue_from_disposition(actor, case: Case, summary: dict, *, call=None) -> Referral:
    """继续现有转介: a person already in care called again. This call's screen is added to the
    case's open referral (its newest), its urgency rises if the risk rose, and the receiver is
    told (``referral.continued``). A rise restarts the acknowledgement clock of a referral not
    yet acknowledged (never later than the deadline it had); an acknowledged one already has
    its person, who is told with the receiver."""
    referral = (
        Referral.objects.active()
        .select_for_update()
        .select_related("receiver")
        .filter(case=case)
        .order_by("-sent_at", "-pk")
        .first()
    )
    if referral is None:
        raise Invalid(
            _("This case has no open referral to continue: choose refer, resolved or emergency."),
            code="no_open_referral",
            fields={"disposition": [_("No open referral on this case.")]},
        )
    now = timezone.now()
    risk = summary.get("risk") or case.risk
    previous = referral.urgency
    raised = RISK_ORDER.get(risk, 0) > RISK_ORDER[previous]
    snapshot = dict(referral.snapshot)
    snapshot["continued_calls"] = [
        *snapshot.get("continued_calls", []),
        {**summary, "call": call.pk if call else None, "at": now.isoformat()},
    ]
    referral.snapshot = snapshot
    restarted = False
    if raised:
        referral.urgency = risk
        if referral.state == ReferralState.SENT:
            referral.ack_due_at = min(referral.ack_due_at, acknowledgement_deadline(risk, now))
            restarted = True
    referral.save()
    _publish(
        "referral.continued",
        referral,
        actor,
        call=call.pk if call else None,
        risk=risk,
        previous_urgency=previous,
        urgency_raised=raised,
        ack_clock_restarted=restarted,
        acknowledged_by=referral.acknowledged_by_id,
    )
    _changed(actor, referral, "continued")
    return referral


def acknowledge(actor, referral: Referral) -> Referral:
    """接收: exactly one member of the receiving organisation takes the referral."""
    with transaction.atomic():
        # The row lock serialises two counsellors pressing at once; the second sees the state.
        referral = _locked(referral)
        _require_receiver(actor, referral)
        if referral.state != ReferralState.SENT:
            who = referral.acknowledged_by
            raise Conflict(
                _("This referral was already taken by %(who)s.") % {"who": who}
                if who
                else _("This referral is no longer waiting to be acknowledged."),
                code="already_acknowledged",
            )
        _transition(referral, "acknowledge")
        referral.acknowledged_at = timezone.now()
        referral.acknowledged_by = actor
        referral.save()
        overdue = referral.acknowledged_at > referral.ack_due_at
        _publish("referral.acknowledged", referral, actor, by=actor.pk, late=overdue)
        _changed(actor, referral, "acknowledged")
    return referral


def decline(actor, referral: Referral, *, reason: str) -> Referral:
    """Decline with a reason; the sender is told and must act (recorded as its next step)."""
    if not reason.strip():
        raise Invalid(_("Say why the referral is declined."), fields={"reason": ["required"]})
    with transaction.atomic():
        referral = _locked(referral)
        _require_receiver(actor, referral)
        _transition(referral, "decline")
        referral.decline_reason = reason
        referral.closed_at = timezone.now()
        referral.save()
        _publish("referral.declined", referral, actor, reason=reason)
        _changed(actor, referral, "declined")
        sender = referral.sent_by
        hotline_services.set_next_step(
            actor,
            referral.case,
            next_step=_("Referral declined by %(org)s: %(reason)s - choose another receiver.")
            % {"org": referral.receiver.name, "reason": reason},
            due=referral.closed_at + timedelta(hours=1),
            # Back to whoever sent it, when they may own the case; else the owner stays.
            owner=sender
            if sender and eligible_owners(referral.case).filter(pk=sender.pk).exists()
            else None,
            owner_by_workflow=True,
        )
        _end_receiver_grant(referral)
    return referral


def pre_assess(
    actor,
    referral: Referral,
    *,
    risk: str,
    presenting_problem: str,
    recommendation: str,
    history: str = "",
    notes: str = "",
) -> PreAssessment:
    """先期研判: the counsellor's pre-assessment before the visit; may update the case risk."""
    if risk not in RISK_ORDER:
        raise Invalid(_("Unknown risk level: %s") % risk, fields={"risk": [risk]})
    if recommendation not in PreAssessment.Recommendation.values:
        raise Invalid(_("Unknown recommendation."), fields={"recommendation": [recommendation]})
    if not presenting_problem.strip():
        raise Invalid(
            _("Describe the presenting problem."), fields={"presenting_problem": ["required"]}
        )
    with transaction.atomic():
        referral = _locked(referral)
        _require_receiver(actor, referral)
        _transition(referral, "pre_assess")
        referral.save()
        assessment = PreAssessment.objects.create(
            referral=referral,
            assessed_by=actor,
            risk=risk,
            presenting_problem=presenting_problem,
            history=history,
            recommendation=recommendation,
            notes=notes,
        )
        if referral.case.risk != risk:
            hotline_services.set_risk(actor, referral.case, risk, reason="pre-assessment")
        _publish("referral.pre_assessed", referral, actor, risk=risk, recommendation=recommendation)
        _changed(actor, referral, "pre_assessed")
    return assessment


def _slot_for(slot: CounsellorSlot | None, counsellor, starts_at) -> CounsellorSlot:
    if slot is None:
        if counsellor is None or starts_at is None:
            raise Invalid(
                _("Choose a counsellor's slot."), fields={"slot": ["required"]}, code="no_slot"
            )
        slot = selectors.slot_containing(counsellor, starts_at)
        if slot is None:
            raise Invalid(
                _("%(who)s has no available slot at that time.") % {"who": counsellor},
                fields={"starts_at": ["outside the counsellor's slots"]},
                code="outside_slots",
            )
    return slot


def book_appointment(
    actor,
    *,
    case: Case,
    slot: CounsellorSlot | None = None,
    counsellor=None,
    starts_at=None,
    referral: Referral | None = None,
    channel: str = AppointmentChannel.APPOINTMENT_LINE,
    note: str = "",
) -> Appointment:
    """Book a visit into a counsellor's slot (from a referral or the 2259885 appointment line)."""
    slot = _slot_for(slot, counsellor, starts_at)
    if not is_administrator(actor) and not has_role(
        actor, Role.COUNSELLOR, Role.COORDINATOR, organisation=slot.organisation
    ):
        raise Forbidden(_("Only the centre's staff book its counsellors' slots."))
    if slot.starts_at < timezone.now():
        raise Invalid(_("That slot has already begun."), fields={"slot": [slot.pk]})
    if not can_work_on_case(actor, case):
        raise Forbidden(_("This case belongs to an organisation you do not work for."))
    if referral is None:
        referral = selectors.course_in_hand(case, slot.organisation)
    elif referral.case_id != case.pk or referral.receiver_id != slot.organisation_id:
        raise Invalid(
            _("That referral is for another case or another centre."),
            fields={"referral": [_("Choose this case's referral to this centre.")]},
        )
    try:
        with transaction.atomic():
            appointment = Appointment.objects.create(
                slot=slot,
                case=case,
                referral=referral,
                organisation=slot.organisation,
                channel=channel,
                booked_by=actor,
                note=note,
            )
            publish(
                "appointment.booked",
                case=case,
                actor=actor,
                data={
                    "appointment": appointment.pk,
                    "referral": referral.pk if referral else None,
                    "counsellor": slot.counsellor_id,
                    "starts_at": slot.starts_at.isoformat(),
                    "ends_at": slot.ends_at.isoformat(),
                    "channel": channel,
                },
                audiences=[aud.user(slot.counsellor_id)],
            )
            refresh_next_step(case, actor)
    except IntegrityError as exc:
        # The partial unique index decides between two bookings of one slot.
        raise Conflict(
            _("That slot is already booked; choose another."), code="slot_taken"
        ) from exc
    return appointment


def book_next_session(
    actor,
    referral: Referral,
    *,
    case: Case | None = None,
    slot=None,
    counsellor=None,
    starts_at=None,
    note: str = "",
) -> Appointment:
    """The next session of a counselling course on the same referral; before the first visit
    this is the referral's first booking (``schedule``). ``case``, when given, must be its case."""
    with transaction.atomic():
        referral = _locked(referral)
        _require_receiver(actor, referral)
        if case is not None and case.pk != referral.case_id:
            raise Invalid(
                _("That referral is for another case."),
                fields={"referral": [_("Choose this case's referral.")]},
            )
        if referral.state != ReferralState.ATTENDED:
            return schedule(actor, referral, slot=slot, counsellor=counsellor, starts_at=starts_at)
        slot = _slot_for(slot, counsellor, starts_at)
        if slot.organisation_id != referral.receiver_id:
            raise Invalid(_("That slot belongs to another centre."), fields={"slot": [slot.pk]})
        if referral.appointments.filter(status="booked").exists():
            raise Conflict(
                _("The next session of this referral is already booked."), code="already_booked"
            )
        appointment = book_appointment(
            actor,
            case=referral.case,
            slot=slot,
            referral=referral,
            channel=AppointmentChannel.REFERRAL,
            note=note,
        )
        _changed(actor, referral, "session_booked")
    return appointment


def schedule(
    actor, referral: Referral, *, slot=None, counsellor=None, starts_at=None
) -> Appointment:
    """Book the referred person's first visit into a counsellor's slot."""
    with transaction.atomic():
        referral = _locked(referral)
        _require_receiver(actor, referral)
        slot = _slot_for(slot, counsellor, starts_at)
        if slot.organisation_id != referral.receiver_id:
            raise Invalid(_("That slot belongs to another centre."), fields={"slot": [slot.pk]})
        _transition(referral, "schedule")
        referral.save()
        appointment = book_appointment(
            actor,
            case=referral.case,
            slot=slot,
            referral=referral,
            channel=AppointmentChannel.REFERRAL,
        )
        _publish(
            "referral.scheduled",
            referral,
            actor,
            appointment=appointment.pk,
            starts_at=slot.starts_at.isoformat(),
        )
        _changed(actor, referral, "scheduled")
    return appointment


def attend(actor, referral: Referral, *, note: str = "") -> Referral:
    """The person came (a counselling visit or a hospital outpatient visit, 门诊)."""
    with transaction.atomic():
        referral = _locked(referral)
        _require_receiver(actor, referral)
        _transition(referral, "attend")
        referral.attended_at = timezone.now()
        referral.attend_note = note
        referral.save()
        _advance(actor, referral.case, Stage.TREATMENT, reason="first visit")
        _publish("referral.attended", referral, actor, note=note)
        _changed(actor, referral, "attended")
    return referral


def complete(actor, referral: Referral, *, outcome: str) -> Referral:
    """The receiver's work on this referral is done; counselling done moves the case to 回访."""
    if not outcome.strip():
        raise Invalid(_("Record the outcome."), fields={"outcome": ["required"]})
    with transaction.atomic():
        referral = _locked(referral)
        _require_receiver(actor, referral)
        _transition(referral, "complete")
        referral.outcome = outcome
        referral.closed_at = timezone.now()
        referral.save()
        _cancel_bookings(actor, referral)
        _publish("referral.completed", referral, actor, outcome=outcome)
        _changed(actor, referral, "completed")
    return referral


def _end_bookings(event: str, actor, referral: Referral, transition: str) -> None:
    """Each session still booked on the referral through ``transition``, announced as ``event``."""
    for appointment in Appointment.objects.select_for_update().filter(
        referral=referral, status="booked"
    ):
        getattr(appointment, transition)()
        appointment.save()
        publish(
            event,
            case=referral.case,
            actor=actor,
            data={"appointment": appointment.pk, "referral": referral.pk},
        )


def _cancel_bookings(actor, referral: Referral) -> None:
    """A finished course keeps no booked session: the slot is free again."""
    _end_bookings("appointment.cancelled", actor, referral, "cancel")


def record_no_show(actor, referral: Referral) -> Referral:
    """The person missed the booked visit; a follow-up is scheduled (clinics)."""
    with transaction.atomic():
        referral = _locked(referral)
        _require_receiver(actor, referral)
        _transition(referral, "mark_no_show")
        referral.save()
        _end_bookings("appointment.no_show", actor, referral, "mark_no_show")
        _publish("referral.no_show", referral, actor)
        _changed(actor, referral, "no_show")
    return referral


def _end(actor, referral: Referral, reason: str, *, by_sender: bool) -> Referral:
    if not reason.strip():
        raise Invalid(_("Say why."), fields={"reason": ["required"]})
    with transaction.atomic():
        referral = _locked(referral)
        if by_sender:
            _require_sender(actor, referral)
        else:
            _require_receiver(actor, referral)
        name = "revoke" if by_sender else "cancel"
        _transition(referral, name)
        referral.end_reason = reason
        referral.closed_at = timezone.now()
        referral.save()
        for appointment in Appointment.objects.select_for_update().filter(
            referral=referral, status="booked"
        ):
            appointment.cancel()
            appointment.save()
        _publish(f"referral.{referral.state}", referral, actor, reason=reason)
        _changed(actor, referral, referral.state)
        _end_receiver_grant(referral)
    return referral


def _end_receiver_grant(referral: Referral) -> None:
    """A declined, cancelled or revoked referral ends the receiver's access at once, unless
    another live referral to the same receiver still needs it."""
    others = Referral.objects.active().filter(case=referral.case, receiver=referral.receiver)
    if not others.exclude(pk=referral.pk).exists():
        hotline_services.end_access(
            referral.case,
            referral.receiver_id,
            reason=CaseAccess.Reason.REFERRAL,
            at=referral.closed_at,
        )


def cancel(actor, referral: Referral, *, reason: str) -> Referral:
    return _end(actor, referral, reason, by_sender=False)


def revoke(actor, referral: Referral, *, reason: str) -> Referral:
    return _end(actor, referral, reason, by_sender=True)


def create_slot(actor, *, counsellor, starts_at, ends_at, organisation=None) -> CounsellorSlot:
    """A counsellor's availability; the counsellor or a coordinator of the centre adds it."""
    orgs = Organisation.objects.filter(
        memberships__user=counsellor,
        memberships__role=Role.COUNSELLOR,
        memberships__is_active=True,
    )
    if organisation is not None:
        orgs = orgs.filter(pk=organisation.pk)
    organisation = orgs.first()
    if organisation is None:
        raise Invalid(_("Slots are for counsellors of a centre."), fields={"counsellor": ["no"]})
    if actor != counsellor and not (
        is_administrator(actor) or has_role(actor, Role.COORDINATOR, organisation=organisation)
    ):
        raise Forbidden(_("Only the counsellor or the centre's coordinator adds slots."))
    if ends_at <= starts_at:
        raise Invalid(_("A slot ends after it starts."), fields={"ends_at": ["before start"]})
    overlap = CounsellorSlot.objects.filter(
        counsellor=counsellor, starts_at__lt=ends_at, ends_at__gt=starts_at
    )
    if overlap.exists():
        raise Conflict(_("This slot overlaps another of the counsellor's slots."), code="overlap")
    try:
        with transaction.atomic():
            return CounsellorSlot.objects.create(
                organisation=organisation,
                counsellor=counsellor,
                starts_at=starts_at,
                ends_at=ends_at,
            )
    except IntegrityError as exc:
        raise Conflict(_("The counsellor already has a slot then."), code="overlap") from exc


def create_hospital_slot(actor, *, hospital, service, starts_at, ends_at, capacity=1):
    if not (is_administrator(actor) or has_role(actor, Role.HOSPITAL_STAFF, organisation=hospital)):
        raise Forbidden(_("Only the hospital's staff add its service slots."))
    if service not in HospitalService.values:
        raise Invalid(_("Unknown hospital service."), fields={"service": [service]})
    if ends_at <= starts_at:
        raise Invalid(_("A slot ends after it starts."), fields={"ends_at": ["before start"]})
    return HospitalSlot.objects.create(
        hospital=hospital, service=service, starts_at=starts_at, ends_at=ends_at, capacity=capacity
    )


def open_referral_reasons(case: Case) -> list[str]:
    """Close check: an open referral holds the loop open."""
    return [
        _("referral #%(id)s to %(org)s is still %(state)s")
        % {"id": r.pk, "org": r.receiver.name, "state": r.get_state_display().lower()}
        for r in Referral.objects.active().filter(case=case).select_related("receiver")
    ]


__all__ = [
    "Risk",
    "acknowledge",
    "attend",
    "book_appointment",
    "book_next_session",
    "cancel",
    "complete",
    "create_hospital_slot",
    "create_slot",
    "decline",
    "pre_assess",
    "record_no_show",
    "refer_from_disposition",
    "revoke",
    "schedule",
    "send_referral",
]
