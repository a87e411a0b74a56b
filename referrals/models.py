"""Referrals (转介): a case pushed from one organisation to another, with its hand-off deadline.

Also the bookings a referral leads to: counsellor slots and appointments at the counselling
centre, and hospital service slots with green-channel (绿色通道) bookings.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from directory.models import Organisation
from hotline.models import Case, Risk


class ReferralKind(models.TextChoices):
    COUNSELLING = "counselling", _("Hotline to counselling centre")
    GREEN_CHANNEL = "green_channel", _("Green channel to hospital")
    CONSORTIUM = "consortium", _("Hospital to consortium hospital")
    CARE_GROUP = "care_group", _("To a care group")


class ReferralState(models.TextChoices):
    SENT = "sent", _("Sent")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    PRE_ASSESSED = "pre_assessed", _("Pre-assessed")
    SCHEDULED = "scheduled", _("Scheduled")
    ATTENDED = "attended", _("Attended")
    COMPLETED = "completed", _("Completed")
    DECLINED = "declined", _("Declined")
    NO_SHOW = "no_show", _("No-show")
    CANCELLED = "cancelled", _("Cancelled")
    REVOKED = "revoked", _("Revoked")


S = ReferralState
# A referral in these states is still work in hand: it holds the case open.
ACTIVE_STATES = [S.SENT, S.ACKNOWLEDGED, S.PRE_ASSESSED, S.SCHEDULED, S.ATTENDED]
WITHDRAWABLE = [S.SENT, S.ACKNOWLEDGED, S.PRE_ASSESSED, S.SCHEDULED, S.NO_SHOW]


class ReferralQuerySet(models.QuerySet):
    def active(self):
        return self.filter(state__in=ACTIVE_STATES)


class Referral(FSMModelMixin, models.Model):
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="referrals")
    kind = models.CharField(_("kind"), max_length=20, choices=ReferralKind.choices)
    sender = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="referrals_sent"
    )
    receiver = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="referrals_received"
    )
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="onward"
    )
    urgency = models.CharField(_("urgency"), max_length=10, choices=Risk.choices)
    reason = models.TextField(_("reason"), blank=True)
    # What the receiver needs, frozen at the moment of sending: triage summary, risk, contact.
    snapshot = models.JSONField(_("snapshot"), default=dict, blank=True)
    consent = models.BooleanField(_("consent given"), default=False)
    consent_override_reason = models.TextField(_("consent override reason"), blank=True)
    state = FSMField(
        _("state"), default=S.SENT, choices=ReferralState.choices, protected=True, db_index=True
    )
    sent_at = models.DateTimeField(_("sent at"), default=timezone.now)
    ack_due_at = models.DateTimeField(_("acknowledge by"))
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="referrals_acknowledged",
    )
    decline_reason = models.TextField(_("decline reason"), blank=True)
    end_reason = models.TextField(_("reason for ending"), blank=True)
    attended_at = models.DateTimeField(null=True, blank=True)
    attend_note = models.TextField(blank=True)
    outcome = models.TextField(_("outcome"), blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = ReferralQuerySet.as_manager()

    class Meta:
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        indexes = [
            # overdue_referrals(now) is one range scan of the unacknowledged ones; with the
            # receiver and the case, the dashboard counts them from the index alone.
            models.Index(
                fields=["ack_due_at", "receiver", "case"],
                condition=Q(state="sent"),
                name="referral_unacked_due_by",
            ),
            models.Index(fields=["receiver", "state"]),
            models.Index(fields=["sender", "state"]),
            # The dashboard's rollup of acknowledgement times.
            models.Index(fields=["acknowledged_at"], name="referral_acknowledged_at"),
        ]

    def __str__(self) -> str:
        return f"referral #{self.pk} {self.sender} -> {self.receiver}"

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES

    def is_overdue(self, now=None) -> bool:
        return self.state == S.SENT and self.ack_due_at <= (now or timezone.now())

    @transition(field=state, source=S.SENT, target=S.ACKNOWLEDGED)
    def acknowledge(self):
        pass

    @transition(field=state, source=S.ACKNOWLEDGED, target=S.PRE_ASSESSED)
    def pre_assess(self):
        pass

    @transition(field=state, source=[S.ACKNOWLEDGED, S.PRE_ASSESSED, S.NO_SHOW], target=S.SCHEDULED)
    def schedule(self):
        pass

    @transition(
        field=state, source=[S.ACKNOWLEDGED, S.PRE_ASSESSED, S.SCHEDULED], target=S.ATTENDED
    )
    def attend(self):
        pass

    @transition(field=state, source=[S.ACKNOWLEDGED, S.ATTENDED], target=S.COMPLETED)
    def complete(self):
        pass

    @transition(field=state, source=[S.SENT, S.ACKNOWLEDGED, S.PRE_ASSESSED], target=S.DECLINED)
    def decline(self):
        pass

    @transition(field=state, source=S.SCHEDULED, target=S.NO_SHOW)
    def mark_no_show(self):
        pass

    @transition(field=state, source=WITHDRAWABLE, target=S.CANCELLED)
    def cancel(self):
        pass

    @transition(field=state, source=WITHDRAWABLE, target=S.REVOKED)
    def revoke(self):
        pass


class PreAssessment(models.Model):
    """先期研判: the counsellor's judgement before the first visit."""

    class Recommendation(models.TextChoices):
        COUNSELLING = "counselling", _("Offline counselling")
        GREEN_CHANNEL = "green_channel", _("Green-channel transfer to hospital")
        CARE_GROUP = "care_group", _("Assistance by a care group")
        NO_FURTHER_ACTION = "none", _("No further action")

    referral = models.OneToOneField(
        Referral, on_delete=models.CASCADE, related_name="pre_assessment"
    )
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    risk = models.CharField(_("risk"), max_length=10, choices=Risk.choices)
    presenting_problem = models.TextField(_("presenting problem"))
    history = models.TextField(_("history"), blank=True)
    recommendation = models.CharField(
        _("recommendation"), max_length=20, choices=Recommendation.choices
    )
    notes = models.TextField(_("notes"), blank=True)
    assessed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("pre-assessment")
        verbose_name_plural = _("pre-assessments")

    def __str__(self) -> str:
        return f"pre-assessment of referral {self.referral_id}"


class CounsellorSlot(models.Model):
    """A period a counsellor is available; one appointment fills it."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    counsellor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="counsellor_slots"
    )
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at"]
        verbose_name = _("counsellor slot")
        verbose_name_plural = _("counsellor slots")
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="counsellor_slot_ends_after_start"
            ),
            models.UniqueConstraint(
                fields=["counsellor", "starts_at"], name="one_slot_per_counsellor_start"
            ),
        ]
        indexes = [models.Index(fields=["organisation", "starts_at"])]

    def __str__(self) -> str:
        return f"{self.counsellor} {self.starts_at:%Y-%m-%d %H:%M}"


class AppointmentChannel(models.TextChoices):
    REFERRAL = "referral", _("Pushed referral")
    APPOINTMENT_LINE = "appointment_line", _("Appointment line 2259885")


class AppointmentStatus(models.TextChoices):
    BOOKED = "booked", _("Booked")
    ATTENDED = "attended", _("Attended")
    NO_SHOW = "no_show", _("No-show")
    CANCELLED = "cancelled", _("Cancelled")


class Appointment(FSMModelMixin, models.Model):
    """A visit at the counselling centre booked into a counsellor's slot."""

    slot = models.ForeignKey(CounsellorSlot, on_delete=models.PROTECT, related_name="appointments")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="appointments")
    referral = models.ForeignKey(
        Referral, null=True, blank=True, on_delete=models.PROTECT, related_name="appointments"
    )
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=20, choices=AppointmentChannel.choices)
    status = FSMField(
        default=AppointmentStatus.BOOKED, choices=AppointmentStatus.choices, protected=True
    )
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    booked_at = models.DateTimeField(default=timezone.now)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        constraints = [
            # No double booking: the database refuses a second live appointment in one slot.
            models.UniqueConstraint(
                fields=["slot"], condition=~Q(status="cancelled"), name="one_booking_per_slot"
            ),
            models.UniqueConstraint(
                fields=["referral"],
                condition=Q(status="booked"),
                name="one_open_booking_per_referral",
            ),
        ]

    def __str__(self) -> str:
        return f"appointment #{self.pk} case {self.case_id}"

    @property
    def starts_at(self):
        return self.slot.starts_at

    @transition(field=status, source=AppointmentStatus.BOOKED, target=AppointmentStatus.ATTENDED)
    def attend(self):
        pass

    @transition(field=status, source=AppointmentStatus.BOOKED, target=AppointmentStatus.NO_SHOW)
    def mark_no_show(self):
        pass

    @transition(field=status, source=AppointmentStatus.BOOKED, target=AppointmentStatus.CANCELLED)
    def cancel(self):
        pass


class HospitalService(models.TextChoices):
    YOUTH_WARD = "youth_ward", _("Youth psychiatric ward admission")
    SELF_HARM_CLINIC = "self_harm_clinic", _("Self-harm/suicide intervention clinic")


class HospitalSlot(models.Model):
    """A hospital service session with a capacity (beds or clinic places)."""

    hospital = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    service = models.CharField(_("service"), max_length=20, choices=HospitalService.choices)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    capacity = models.PositiveSmallIntegerField(_("capacity"), default=1)

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="hospital_slot_ends_after_start"
            ),
        ]
        indexes = [models.Index(fields=["hospital", "service", "starts_at"])]

    def __str__(self) -> str:
        return f"{self.get_service_display()} {self.starts_at:%Y-%m-%d %H:%M}"


class GreenChannelBooking(models.Model):
    """绿色通道: the counsellor's direct booking into a hospital service; never waitlisted."""

    referral = models.OneToOneField(
        Referral, on_delete=models.CASCADE, related_name="green_channel_booking"
    )
    service = models.CharField(_("service"), max_length=20, choices=HospitalService.choices)
    slot = models.ForeignKey(
        HospitalSlot, null=True, blank=True, on_delete=models.PROTECT, related_name="bookings"
    )
    # No free place: still accepted, flagged so the hospital makes room.
    over_capacity = models.BooleanField(_("over capacity"), default=False)
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    booked_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"green channel {self.pk} ({self.service})"
