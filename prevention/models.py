"""The prevention stage (防范): screening campaigns in schools and communities, their one-time
slips and answers, the follow-up tasks flagged answers create, and outreach sessions."""

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from directory.models import Organisation, Region
from prevention.scoring import GAD7, PHQ9

# No 0/O, 1/I/L: a code read off a printed slip and typed on a phone.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


class ConsentRule(models.TextChoices):
    SELF = "self", _("The participant consents (adults)")
    GUARDIAN_FOR_MINORS = "guardian_for_minors", _("A guardian consents for a minor")
    GUARDIAN = "guardian", _("A guardian always consents")


class Campaign(models.Model):
    """A screening campaign (心理筛查) run by a school or the counselling centre."""

    name = models.CharField(_("name"), max_length=150)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="screening_campaigns"
    )
    questionnaires = models.JSONField(_("questionnaires"), default=list)
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    consent_rule = models.CharField(
        _("consent rule"),
        max_length=30,
        choices=ConsentRule.choices,
        default=ConsentRule.GUARDIAN_FOR_MINORS,
    )
    # Whether slips carry the student's name: then a flagged answer opens a named person's
    # case; otherwise an anonymous person known only by the slip.
    records_names = models.BooleanField(_("slips carry names"), default=False)
    follow_up_organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="screening_follow_ups",
        verbose_name=_("follow-up organisation"),
    )
    follow_up_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("follow-up person"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # Counts kept when the answers that never flagged are deleted at the end of retention.
    purged_at = models.DateTimeField(null=True, blank=True)
    band_counts = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-starts_on", "pk"]
        verbose_name = _("screening campaign")
        verbose_name_plural = _("screening campaigns")

    def __str__(self) -> str:
        return self.name

    @property
    def uses_phq9(self) -> bool:
        return PHQ9 in self.questionnaires

    @property
    def uses_gad7(self) -> bool:
        return GAD7 in self.questionnaires

    def is_running(self, now=None) -> bool:
        today = timezone.localdate(now or timezone.now())
        return self.closed_at is None and self.starts_on <= today <= self.ends_on


class ScreeningGroup(models.Model):
    """A class (班级) or a community group of a campaign: the unit slips are printed for."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="groups")
    name = models.CharField(_("class or group"), max_length=100)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "name"], name="one_group_name_per_campaign")
        ]

    def __str__(self) -> str:
        return self.name


class Participation(models.Model):
    """One slip: a one-time code, and once used the consent and when it was answered. The
    answers themselves are a ``ScreeningResponse``; a person is linked only when flagged."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="participations")
    group = models.ForeignKey(ScreeningGroup, on_delete=models.CASCADE, related_name="slips")
    code = models.CharField(max_length=16, unique=True, default=new_code)
    label = models.CharField(_("name on the slip"), max_length=100, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    consent_by = models.CharField(max_length=10, blank=True)  # "self" or "guardian"
    consented_at = models.DateTimeField(null=True, blank=True)
    flagged = models.BooleanField(default=False)
    watched = models.BooleanField(default=False)
    person = models.ForeignKey(
        "hotline.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    case = models.ForeignKey(
        "hotline.Case", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["group_id", "pk"]
        indexes = [models.Index(fields=["campaign", "answered_at"])]

    def __str__(self) -> str:
        return f"{self.group} #{self.pk}"


class ScreeningResponse(models.Model):
    """The answers of one slip and their scores. Deleted for never-flagged slips once the
    campaign has been closed ``SCREENING_RETENTION_DAYS`` (the campaign keeps the counts)."""

    participation = models.OneToOneField(
        Participation, on_delete=models.CASCADE, related_name="response"
    )
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="responses")
    answers = models.JSONField(default=dict)
    phq9_total = models.PositiveSmallIntegerField(null=True, blank=True)
    phq9_band = models.CharField(max_length=20, blank=True)
    phq9_item9 = models.PositiveSmallIntegerField(null=True, blank=True)
    gad7_total = models.PositiveSmallIntegerField(null=True, blank=True)
    gad7_band = models.CharField(max_length=20, blank=True)
    flags = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"response {self.participation_id}"


class FlagReason(models.TextChoices):
    ITEM9 = "item9", _("PHQ-9 item 9 positive")
    PHQ9 = "phq9", _("PHQ-9 at or above the cut-off")
    GAD7 = "gad7", _("GAD-7 at or above the cut-off")
    WATCH = "watch", _("Moderate band: keep in view")


class TaskState(models.TextChoices):
    OPEN = "open", _("Open")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    DONE = "done", _("Done")


class ScreeningTask(FSMModelMixin, models.Model):
    """A follow-up task for the school's psychology teacher or the counselling centre."""

    participation = models.OneToOneField(
        Participation, on_delete=models.PROTECT, related_name="task"
    )
    case = models.ForeignKey("hotline.Case", on_delete=models.PROTECT, related_name="+")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=10, choices=FlagReason.choices)
    state = FSMField(default=TaskState.OPEN, choices=TaskState.choices, protected=True)
    created_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField(_("due"))
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["due_at", "pk"]
        indexes = [models.Index(fields=["state", "due_at"])]

    def __str__(self) -> str:
        return f"task {self.pk} (case {self.case_id})"

    @transition(field=state, source=TaskState.OPEN, target=TaskState.ACKNOWLEDGED)
    def acknowledge(self):
        pass

    @transition(field=state, source=[TaskState.OPEN, TaskState.ACKNOWLEDGED], target=TaskState.DONE)
    def finish(self):
        pass

    @property
    def followed_up_in_time(self) -> bool:
        return self.acknowledged_at is not None and self.acknowledged_at <= self.due_at


class Scene(models.TextChoices):
    """The "1+5+N" settings: the counselling centre plus five scenes."""

    COUNSELLING_CENTRE = "counselling_centre", _("Counselling centre")
    SCHOOL = "school", _("School")
    FAMILY = "family", _("Family")
    COMMUNITY = "community", _("Community")
    HOSPITAL = "hospital", _("Hospital")
    WORKPLACE = "workplace", _("Workplace")


class ActivityKind(models.TextChoices):
    TALK = "talk", _("Talk")
    CLASS = "class", _("Class")
    COMMUNITY_SESSION = "community_session", _("Community session")


class OutreachActivity(models.Model):
    """A talk, class or community session (心理健康宣教): where, who, how many reached."""

    kind = models.CharField(_("kind"), max_length=20, choices=ActivityKind.choices)
    scene = models.CharField(_("scene"), max_length=20, choices=Scene.choices)
    title = models.CharField(_("title"), max_length=150)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    district = models.ForeignKey(
        Region, null=True, blank=True, editable=False, on_delete=models.PROTECT, related_name="+"
    )
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    held_on = models.DateField(_("held on"))
    led_by = models.CharField(_("led by"), max_length=100)
    reached = models.PositiveIntegerField(_("people reached"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-held_on", "-pk"]
        verbose_name = _("outreach activity")
        verbose_name_plural = _("outreach activities")

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs):
        self.district = self.region.district()
        super().save(*args, **kwargs)
