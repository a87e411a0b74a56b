"""Reads of referrals: who sees which, the overdue ones, choosing receivers from the directory."""

from datetime import timedelta

from django.conf import settings
from django.db.models import Count, F, Q
from django.utils.translation import gettext as _

from directory.access import is_administrator
from directory.models import Organisation, OrganisationKind, RegionLevel
from hotline.caseplan import CLAIM_REFERRAL, OpenItem
from hotline.models import Person, ResponsibleRole
from hotline.selectors import case_organisation_ids, visible_cases
from referrals.models import (
    Appointment,
    AppointmentStatus,
    CounsellorSlot,
    HospitalSlot,
    PreAssessment,
    Referral,
    ReferralKind,
    ReferralState,
)

# A referral the receiver turned down or the sender withdrew: its grant has ended.
ENDED_FOR_RECEIVER = (ReferralState.DECLINED, ReferralState.CANCELLED, ReferralState.REVOKED)


def visible_referrals(user):
    """Referrals sent by the user's organisations, and those sent to them while they are work
    in hand; once declined, cancelled or revoked the receiver sees one only while it still
    holds the case another way (all of them for administrators)."""
    qs = Referral.objects.select_related("case__person", "sender", "receiver")
    if is_administrator(user):
        return qs
    orgs = case_organisation_ids(user)
    received = Q(receiver__in=orgs) & (
        ~Q(state__in=ENDED_FOR_RECEIVER) | Q(case__in=visible_cases(user).values("pk"))
    )
    return qs.filter(received | Q(sender__in=orgs))


def visible_pre_assessments(user):
    """先期研判 the user may read: those of referrals they see, and the one an onward referral
    carries to its receiver (a hospital taking a green-channel transfer reads the counsellor's
    assessment that led to it, not the rest of the counselling file)."""
    seen = visible_referrals(user).values("pk")
    return PreAssessment.objects.filter(
        Q(referral__in=seen) | Q(referral__onward__in=seen)
    ).distinct()


def overdue_referrals(now):
    """Referrals not acknowledged by their deadline (one scan of a partial index on the deadline).

    For the escalation worker: it raises an alert for each one it has not alerted yet.
    """
    return (
        Referral.objects.filter(state=ReferralState.SENT, ack_due_at__lte=now)
        .select_related("case", "sender", "receiver")
        .order_by("ack_due_at")
    )


def counselling_centre_for(person: Person | None) -> Organisation | None:
    """The active counselling centre: the only one; else the one covering the person's region
    (the nearest one up the tree); else the city's."""
    centres = list(
        Organisation.objects.filter(
            kind=OrganisationKind.COUNSELLING_CENTRE, is_active=True
        ).select_related("region")
    )
    if len(centres) <= 1:
        return centres[0] if centres else None
    region = person.home_region if person else None
    if region is not None:
        covering = [c for c in centres if region.path.startswith(c.region.path)]
        if covering:
            return max(covering, key=lambda c: len(c.region.path))
    city = [c for c in centres if c.region.level == RegionLevel.CITY]
    return min(city or centres, key=lambda c: c.pk)


def consortium_hospital_for(person: Person | None) -> Organisation | None:
    """The medical-consortium hospital (医联体) of the person's district."""
    region = person.home_region if person else None
    district = region.ancestor_at(RegionLevel.DISTRICT) if region else None
    if district is None:
        return None
    return (
        Organisation.objects.filter(
            kind=OrganisationKind.CONSORTIUM_HOSPITAL, is_active=True, region=district
        )
        .order_by("pk")
        .first()
    )


def free_hospital_slot(hospital, service: str, now):
    """The earliest future slot of a service with a place left, or None."""
    for slot in HospitalSlot.objects.filter(
        hospital=hospital, service=service, starts_at__gte=now
    ).order_by("starts_at")[:50]:
        if slot.bookings.count() < slot.capacity:
            return slot
    return None


def slot_containing(counsellor, at):
    return CounsellorSlot.objects.filter(
        counsellor=counsellor, starts_at__lte=at, ends_at__gt=at
    ).first()


def free_slots(organisation, now):
    return (
        CounsellorSlot.objects.filter(organisation=organisation, starts_at__gte=now)
        .exclude(appointments__status__in=["booked", "attended", "no_show"])
        .select_related("counsellor")
        .order_by("starts_at")
    )


# --- the case's open items (hotline.caseplan) ---------------------------------------------


def case_items(case) -> list[OpenItem]:
    """A referral's next step: the receiver's acknowledgement while sent; once it acknowledged,
    the receiver answers for the case (its booked visit, the admission, the outcome)."""
    idle = timedelta(hours=settings.CASE_IDLE_HOURS)
    items = []
    booked = Appointment.objects.filter(case=case, status=AppointmentStatus.BOOKED)
    booked = booked.select_related("slot", "organisation").order_by("slot__starts_at", "pk")
    by_referral: dict[int, Appointment] = {}
    for appointment in booked:
        if appointment.referral_id and appointment.referral_id not in by_referral:
            by_referral[appointment.referral_id] = appointment
    referrals = Referral.objects.active().filter(case=case).select_related("receiver")
    for r in referrals:
        names = {"id": r.pk, "org": r.receiver.name}
        if r.state == ReferralState.SENT:
            items.append(
                OpenItem(
                    key=f"referral:{r.pk}",
                    kind="referral_ack",
                    text=_("Acknowledge referral #%(id)s (%(org)s)") % names,
                    due=r.ack_due_at,
                )
            )
            continue
        taken = {
            "claim": CLAIM_REFERRAL,
            "role": ResponsibleRole.REFERRAL_RECEIVER,
            "organisation_id": r.receiver_id,
            "user_id": r.acknowledged_by_id,
        }
        since = r.attended_at or r.acknowledged_at or r.sent_at
        appointment = by_referral.get(r.pk)
        if appointment is not None:
            kind, due = "appointment", appointment.slot.starts_at
            text = _("Counselling visit (referral #%(id)s, %(org)s)") % names
        elif r.state == ReferralState.ATTENDED:
            kind, due = "referral", since + idle
            text = _("Record the outcome of referral #%(id)s (%(org)s)") % names
        elif r.kind in (ReferralKind.GREEN_CHANNEL, ReferralKind.CONSORTIUM):
            kind, due = "admission", since + idle
            text = _("Admit to hospital (referral #%(id)s, %(org)s)") % names
        else:
            kind, due = "referral", since + idle
            text = _("Book the first visit (referral #%(id)s, %(org)s)") % names
        items.append(OpenItem(key=f"referral:{r.pk}", kind=kind, text=text, due=due, **taken))
    for appointment in booked:
        if appointment.referral_id in by_referral:
            continue
        items.append(
            OpenItem(
                key=f"appointment:{appointment.pk}",
                kind="appointment",
                text=_("Counselling visit (%(org)s)") % {"org": appointment.organisation.name},
                due=appointment.slot.starts_at,
            )
        )
    return items


def course_in_hand(case, centre) -> Referral | None:
    """The counselling course (咨询疗程) under way for this case at this centre, with no session
    booked yet: a booking there is its next session, so the course's sessions stay on their
    referral."""
    return (
        Referral.objects.filter(
            case=case, receiver=centre, kind=ReferralKind.COUNSELLING, state=ReferralState.ATTENDED
        )
        .exclude(appointments__status="booked")
        .order_by("-id")
        .first()
    )


def free_hospital_slots(now, limit: int = 40):
    """Future hospital slots with a place left, every active hospital and service, earliest
    first, each with ``places_left`` (what a counsellor picks from for a green channel)."""
    slots = (
        HospitalSlot.objects.filter(
            starts_at__gte=now,
            hospital__is_active=True,
            hospital__kind=OrganisationKind.HOSPITAL,
        )
        .annotate(booked=Count("bookings"))
        .filter(booked__lt=F("capacity"))
        .select_related("hospital")
        .order_by("starts_at", "pk")[:limit]
    )
    found = list(slots)
    for slot in found:
        slot.places_left = slot.capacity - slot.booked
    return found


def green_channel_hospitals():
    return Organisation.objects.filter(kind=OrganisationKind.HOSPITAL, is_active=True).order_by(
        "name"
    )
