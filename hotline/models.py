"""The case file: one person, one case (一人一例), moving through the closed loop."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition
from phonenumber_field.modelfields import PhoneNumberField

from directory.models import Organisation, Region


class Person(models.Model):
    """The person at risk. May be anonymous, and may not be the caller."""

    class Gender(models.TextChoices):
        UNKNOWN = "unknown", _("Unknown")
        FEMALE = "female", _("Female")
        MALE = "male", _("Male")
        OTHER = "other", _("Other")

    name = models.CharField(_("name"), max_length=100, blank=True)
    is_anonymous = models.BooleanField(_("anonymous"), default=False)
    phone = PhoneNumberField(_("phone"), blank=True, db_index=True)
    gender = models.CharField(_("gender"), max_length=10, choices=Gender.choices, default="unknown")
    birth_year = models.PositiveSmallIntegerField(_("birth year"), null=True, blank=True)
    home_region = models.ForeignKey(
        Region, null=True, blank=True, on_delete=models.PROTECT, related_name="people"
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    school = models.CharField(_("school or workplace"), max_length=150, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")

    def __str__(self) -> str:
        if self.is_anonymous or not self.name:
            return _("Anonymous #%(id)s") % {"id": self.pk}
        return self.name


class GuardianContact(models.Model):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="guardians")
    name = models.CharField(_("name"), max_length=100)
    relation = models.CharField(_("relation"), max_length=50)
    phone = PhoneNumberField(_("phone"))

    class Meta:
        verbose_name = _("guardian contact")
        verbose_name_plural = _("guardian contacts")

    def __str__(self) -> str:
        return f"{self.name} ({self.relation})"


class Stage(models.TextChoices):
    PREVENTION = "prevention", _("Prevention")
    DISCOVERY = "discovery", _("Discovery")
    INTERVENTION = "intervention", _("Intervention")
    ASSISTANCE = "assistance", _("Assistance")
    TREATMENT = "treatment", _("Treatment")
    FOLLOW_UP = "follow_up", _("Follow-up")
    CLOSED = "closed", _("Closed")


LOOP = [
    Stage.PREVENTION,
    Stage.DISCOVERY,
    Stage.INTERVENTION,
    Stage.ASSISTANCE,
    Stage.TREATMENT,
    Stage.FOLLOW_UP,
]
OPEN_STAGES = [s.value for s in LOOP]


def _before(stage: str) -> list[str]:
    return [s.value for s in LOOP[: LOOP.index(stage)]]


class Risk(models.TextChoices):
    NONE = "none", _("None")
    LOW = "low", _("Low")
    MODERATE = "moderate", _("Moderate")
    HIGH = "high", _("High")
    IMMINENT = "imminent", _("Imminent")


RISK_ORDER = {r.value: i for i, r in enumerate(Risk)}


def risk_at_least(risk: str, floor: str) -> bool:
    return RISK_ORDER[risk] >= RISK_ORDER[floor]


class CaseQuerySet(models.QuerySet):
    def open(self):
        return self.exclude(stage=Stage.CLOSED)


class Case(FSMModelMixin, models.Model):
    """The one file per person. ``stage`` only moves forward along the loop, or closes/reopens."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="cases")
    stage = FSMField(
        _("stage"), default=Stage.DISCOVERY, choices=Stage.choices, protected=True, db_index=True
    )
    risk = models.CharField(_("risk"), max_length=10, choices=Risk.choices, default=Risk.NONE)
    owning_organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="owned_cases"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_cases",
    )
    summary = models.TextField(_("summary"), blank=True)
    next_step = models.CharField(_("next step"), max_length=200, blank=True)
    next_step_due = models.DateTimeField(_("next step due"), null=True, blank=True)
    stage_entered_at = models.DateTimeField(_("stage entered at"), default=timezone.now)
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    close_reason = models.TextField(_("close reason"), blank=True)

    objects = CaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        constraints = [
            # 一人一例: the database itself refuses a second open case for a person.
            models.UniqueConstraint(
                fields=["person"], condition=~Q(stage="closed"), name="one_open_case_per_person"
            )
        ]
        indexes = [
            models.Index(fields=["owning_organisation", "stage"]),
            models.Index(fields=["risk", "stage"]),
            models.Index(fields=["next_step_due"]),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.person}"

    @property
    def is_open(self) -> bool:
        return self.stage != Stage.CLOSED

    # Transitions: forward only along the loop (a stage may be skipped, e.g. an emergency goes
    # straight to treatment); closing and reopening are separate. Called only from services.
    @transition(field=stage, source=_before(Stage.DISCOVERY), target=Stage.DISCOVERY)
    def to_discovery(self):
        pass

    @transition(field=stage, source=_before(Stage.INTERVENTION), target=Stage.INTERVENTION)
    def to_intervention(self):
        pass

    @transition(field=stage, source=_before(Stage.ASSISTANCE), target=Stage.ASSISTANCE)
    def to_assistance(self):
        pass

    @transition(field=stage, source=_before(Stage.TREATMENT), target=Stage.TREATMENT)
    def to_treatment(self):
        pass

    @transition(field=stage, source=_before(Stage.FOLLOW_UP), target=Stage.FOLLOW_UP)
    def to_follow_up(self):
        pass

    @transition(field=stage, source=OPEN_STAGES, target=Stage.CLOSED)
    def close(self):
        pass

    @transition(field=stage, source=Stage.CLOSED, target=Stage.DISCOVERY)
    def reopen(self):
        pass

    def audience_organisation_ids(self) -> set[int]:
        """Organisations that may see this case: the owner plus every active grant."""
        ids = set(
            self.access_grants.filter(revoked_at__isnull=True).values_list(
                "organisation_id", flat=True
            )
        )
        ids.add(self.owning_organisation_id)
        return ids


ADVANCE_TRANSITIONS = {
    Stage.DISCOVERY: "to_discovery",
    Stage.INTERVENTION: "to_intervention",
    Stage.ASSISTANCE: "to_assistance",
    Stage.TREATMENT: "to_treatment",
    Stage.FOLLOW_UP: "to_follow_up",
}


class StageVisit(models.Model):
    """One stay of a case in one stage; the dashboard's time-in-stage figures come from here."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="stage_visits")
    stage = models.CharField(max_length=20, choices=Stage.choices)
    entered_at = models.DateTimeField(default=timezone.now)
    left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["entered_at", "id"]
        indexes = [models.Index(fields=["stage", "entered_at"])]

    def __str__(self) -> str:
        return f"{self.case_id} {self.stage} {self.entered_at:%Y-%m-%d %H:%M}"


class CaseAccess(models.Model):
    """An organisation outside the owner allowed to see a case, and why (referral, dispatch...)."""

    class Reason(models.TextChoices):
        REFERRAL = "referral", _("Referral")
        DISPATCH = "dispatch", _("Emergency dispatch")
        CARE_GROUP = "care_group", _("Care group")
        BREAK_GLASS = "break_glass", _("Emergency break-glass read")
        TRANSFER = "transfer", _("Ownership transferred")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="access_grants")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="case_grants"
    )
    reason = models.CharField(max_length=20, choices=Reason.choices)
    note = models.CharField(max_length=200, blank=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    granted_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("case access grant")
        verbose_name_plural = _("case access grants")
        indexes = [models.Index(fields=["organisation", "revoked_at"])]

    def __str__(self) -> str:
        return f"{self.organisation} -> case {self.case_id} ({self.reason})"
