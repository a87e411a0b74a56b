"""Work at the receiving organisations: sessions, admissions, assistance plans, follow-ups."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from core.encryption import EncryptedNotesField
from directory.models import Organisation
from hotline.models import Case
from referrals.models import Appointment, Referral


class SessionOutcome(models.TextChoices):
    CONTINUE = "continue", _("Continue counselling")
    COMPLETED = "completed", _("Counselling completed")
    GREEN_CHANNEL = "green_channel", _("Transfer to hospital (green channel)")


class CounsellingSession(models.Model):
    """Notes and outcome of an attended counselling appointment."""

    appointment = models.OneToOneField(
        Appointment, on_delete=models.PROTECT, related_name="session"
    )
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="sessions")
    counsellor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    notes = EncryptedNotesField(_("session notes"))  # encrypted at rest
    outcome = models.CharField(_("outcome"), max_length=20, choices=SessionOutcome.choices)
    held_at = models.DateTimeField(default=timezone.now)
    # "Continue": the course's next session, booked with this one (on the same referral).
    next_appointment = models.OneToOneField(
        Appointment,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="booked_at_session",
        verbose_name=_("next session"),
    )

    class Meta:
        verbose_name = _("counselling session")
        verbose_name_plural = _("counselling sessions")

    def __str__(self) -> str:
        return f"session {self.pk} case {self.case_id}"


class AdmissionState(models.TextChoices):
    ADMITTED = "admitted", _("Admitted")
    DISCHARGED = "discharged", _("Discharged")


class Admission(FSMModelMixin, models.Model):
    """A stay on a hospital ward, from admission to discharge with a follow-up plan."""

    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="admissions")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="admissions")
    hospital = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    ward = models.CharField(_("ward"), max_length=60)
    bed = models.CharField(_("bed"), max_length=20)
    state = FSMField(
        default=AdmissionState.ADMITTED, choices=AdmissionState.choices, protected=True
    )
    admitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    admitted_at = models.DateTimeField(default=timezone.now)
    discharged_at = models.DateTimeField(null=True, blank=True)
    discharge_summary = models.TextField(_("discharge summary"), blank=True)
    follow_up_plan = models.TextField(_("follow-up plan"), blank=True)

    class Meta:
        verbose_name = _("admission")
        verbose_name_plural = _("admissions")
        constraints = [
            models.UniqueConstraint(
                fields=["hospital", "ward", "bed"],
                condition=Q(state="admitted"),
                name="one_patient_per_bed",
            ),
            models.UniqueConstraint(
                fields=["case"], condition=Q(state="admitted"), name="one_admission_per_case"
            ),
        ]

    def __str__(self) -> str:
        return f"admission {self.pk} {self.ward} {self.bed}"

    @transition(field=state, source=AdmissionState.ADMITTED, target=AdmissionState.DISCHARGED)
    def discharge(self):
        pass


class PlanState(models.TextChoices):
    ACTIVE = "active", _("Active")
    CLOSED = "closed", _("Closed")


class AssistancePlan(FSMModelMixin, models.Model):
    """一对一帮扶: a care group's plan of measures for one person."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="assistance_plans")
    care_group = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="care_plans")
    goal = models.TextField(_("goal"))
    state = FSMField(default=PlanState.ACTIVE, choices=PlanState.choices, protected=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("assistance plan")
        verbose_name_plural = _("assistance plans")

    def __str__(self) -> str:
        return f"plan {self.pk} case {self.case_id}"

    @transition(field=state, source=PlanState.ACTIVE, target=PlanState.CLOSED)
    def close(self):
        pass


class MeasureKind(models.TextChoices):
    COUNSELLING = "counselling", _("Counselling")
    SUBSIDY = "subsidy", _("Subsidy")
    MEDICAL_AID = "medical_aid", _("Medical aid")
    SCHOOL_LIAISON = "school_liaison", _("School liaison")


class PlanMeasure(models.Model):
    plan = models.ForeignKey(AssistancePlan, on_delete=models.CASCADE, related_name="measures")
    kind = models.CharField(_("kind"), max_length=20, choices=MeasureKind.choices)
    description = models.TextField(_("description"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="care_measures"
    )
    next_check_in = models.DateTimeField(_("next check-in"), null=True, blank=True)
    last_check_in = models.DateTimeField(null=True, blank=True)
    last_note = models.TextField(blank=True)
    done = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["next_check_in"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.plan_id})"


class FollowUpReason(models.TextChoices):
    RESOLVED_CALL = "resolved_call", _("Resolved call")
    NO_SHOW = "no_show", _("Missed appointment")
    DISCHARGE = "discharge", _("Discharge")
    COMPLETED = "completed", _("Counselling completed")
    MANUAL = "manual", _("Scheduled by staff")


class FollowUpState(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    DONE = "done", _("Done")
    LOST = "lost", _("Lost to follow-up")
    CANCELLED = "cancelled", _("Cancelled")


class FollowUp(FSMModelMixin, models.Model):
    """回访: one planned contact with the person; three failed attempts mark them lost."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="follow_ups")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="follow_ups",
    )
    reason = models.CharField(max_length=20, choices=FollowUpReason.choices)
    sequence = models.PositiveSmallIntegerField(default=1)
    due_at = models.DateTimeField(_("due at"))
    state = FSMField(default=FollowUpState.SCHEDULED, choices=FollowUpState.choices, protected=True)
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    outcome = models.TextField(blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        indexes = [
            models.Index(
                fields=["due_at"], condition=Q(state="scheduled"), name="follow_up_open_due"
            ),
            models.Index(fields=["organisation", "state"]),
            # The dashboard's live follow-ups by case (filtered counts), from the index alone.
            models.Index(
                fields=["case", "organisation", "due_at"],
                condition=Q(state="scheduled"),
                name="follow_up_open_case",
            ),
            models.Index(  # the dashboard's rollup: lost follow-ups per day
                fields=["done_at"], condition=Q(state="lost"), name="follow_up_lost_at"
            ),
        ]

    def __str__(self) -> str:
        return f"follow-up {self.pk} case {self.case_id} #{self.sequence}"

    @transition(field=state, source=FollowUpState.SCHEDULED, target=FollowUpState.DONE)
    def finish(self):
        pass

    @transition(field=state, source=FollowUpState.SCHEDULED, target=FollowUpState.LOST)
    def lose(self):
        pass

    @transition(field=state, source=FollowUpState.SCHEDULED, target=FollowUpState.CANCELLED)
    def cancel(self):
        pass


class FollowUpAttempt(models.Model):
    class Outcome(models.TextChoices):
        REACHED = "reached", _("Reached")
        NO_ANSWER = "no_answer", _("No answer")
        WRONG_NUMBER = "wrong_number", _("Wrong number")
        REFUSED = "refused", _("Refused")

    follow_up = models.ForeignKey(FollowUp, on_delete=models.CASCADE, related_name="attempts")
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    notes = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"{self.follow_up_id} {self.outcome}"

    @property
    def failed(self) -> bool:
        return self.outcome != self.Outcome.REACHED


class BreakGlass(models.Model):
    """An emergency read of a case by a coordinator, with a written reason; it expires."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    grant = models.ForeignKey("hotline.CaseAccess", on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"break-glass {self.pk} case {self.case_id}"


from clinics.safety_plan_review import ReviewOutcome, SafetyPlanReview  # noqa: E402,F401  (回顾安全计划)
