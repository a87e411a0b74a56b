"""Writes for partner systems: a leg's progress reported by a 110/120 platform, and admissions
reported back by a hospital as FHIR Encounters. Both call the same services as the pages."""

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clinics import services as clinic_services
from clinics.models import Admission, AdmissionState
from core.errors import Conflict, Forbidden, Invalid, NotFound
from escalation import services as escalation_services
from escalation.models import DispatchLeg, LegState
from network.models import PartnerRequest, PartnerSystem, ReceivedEncounter
from network.signing import verify
from referrals.models import Referral


class BadSignature(Forbidden):
    status_code = 401
    code = "bad_signature"


# The partner's words -> the responder page's action.
PARTNER_STEPS = {
    "acknowledged": "acknowledge",
    "on_the_way": LegState.EN_ROUTE,
    "arrived": LegState.ON_SCENE,
    "handed_over": LegState.DONE,
}


def authenticate_partner(code: str, timestamp: str, body: bytes, given: str) -> PartnerSystem:
    """The partner named by ``code`` signed this body within the allowed skew, and only once."""
    partner = (
        PartnerSystem.objects.select_related("organisation", "acting_user")
        .filter(organisation__code=code, active=True)
        .first()
    )
    if partner is None or not verify(partner.secret, timestamp, body, given):
        raise BadSignature(_("The request is not signed by a known partner."))
    try:
        sent = int(timestamp)
    except ValueError as exc:
        raise BadSignature(_("The timestamp is not a Unix time.")) from exc
    if abs(timezone.now().timestamp() - sent) > settings.NETWORK_PARTNER_MAX_SKEW:
        raise BadSignature(_("The timestamp is too old or in the future."), code="stale")
    try:
        with transaction.atomic():
            PartnerRequest.objects.create(partner=partner, signature=given)
    except IntegrityError as exc:
        raise BadSignature(_("This signed request was already received."), code="replay") from exc
    # Signatures older than the skew cannot come back (the timestamp check refuses them).
    horizon = timezone.now() - timedelta(seconds=2 * settings.NETWORK_PARTNER_MAX_SKEW)
    PartnerRequest.objects.filter(received_at__lt=horizon).delete()
    return partner


def report_leg_status(partner: PartnerSystem, leg_id, status: str, note: str = "") -> DispatchLeg:
    """A partner platform's 收到 / 已出发 / 已到达 / 已交接, as its responder's page does it."""
    if status not in PARTNER_STEPS:
        raise Invalid(_("Unknown status: %s") % status, fields={"status": [status]})
    try:
        leg = escalation_services.get_leg(leg_id)
    except (NotFound, ValueError) as exc:
        raise NotFound(_("No such dispatch leg.")) from exc
    if leg.organisation_id != partner.organisation_id:
        raise Forbidden(_("This dispatch leg belongs to another organisation."))
    actor = partner.acting_user
    step = PARTNER_STEPS[status]
    if step == "acknowledge":
        return escalation_services.acknowledge_leg(actor, leg, via="partner")
    return escalation_services.advance_leg(actor, leg, step, note=note)


def record_encounter(
    actor,
    referral: Referral,
    *,
    identifier: str,
    status: str,
    ward="",
    bed="",
    summary="",
    follow_up_plan="",
) -> tuple[ReceivedEncounter, bool]:
    """An Encounter reported by the receiving hospital: in-progress admits, finished discharges.

    Idempotent by (identifier, status): the same report again changes nothing.
    """
    if status not in ("in-progress", "finished"):
        raise Invalid(
            _("Only in-progress (admitted) and finished (discharged) encounters are taken."),
            fields={"status": [status]},
        )
    seen = ReceivedEncounter.objects.filter(
        referral=referral, identifier=identifier, status=status
    ).first()
    if seen is not None:
        return seen, False
    with transaction.atomic():
        if status == "in-progress":
            admission = clinic_services.admit(actor, referral, ward=ward, bed=bed)
        else:
            admission = (
                Admission.objects.filter(referral=referral, state=AdmissionState.ADMITTED)
                .order_by("-pk")
                .first()
            )
            if admission is None:
                raise Conflict(
                    _("The person is not admitted on this referral."), code="not_admitted"
                )
            admission = clinic_services.discharge(
                actor, admission, summary=summary, follow_up_plan=follow_up_plan
            )
        received = ReceivedEncounter.objects.create(
            referral=referral,
            identifier=identifier,
            status=status,
            admission=admission,
            received_by=actor,
        )
    return received, True
