"""The case file: one person, one case (一人一例), moving through the closed loop."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition
from phonenumber_field.modelfields import PhoneNumberField

from core.encryption import EncryptedNotesField
from directory.models import Organisation, Region

PHONE_TAKEN = "phone_taken"


class Person(models.Model):
    """The person at risk. May be anonymous, and may not be the caller."""

    class Gender(models.TextChoices):
        UNKNOWN = "unknown", _("Unknown")
        FEMALE = "female", _("Female")
        MALE = "male", _("Male")
        OTHER = "other", _("Other")

    class Language(models.TextChoices):
        MANDARIN = "mandarin", _("Mandarin")
        DIALECT = "dialect", _("Local dialect")
        ENGLISH = "english", _("English")
        OTHER = "other", _("Other language")

    name = models.CharField(_("name"), max_length=100, blank=True)
    alias = models.CharField(_("alias"), max_length=100, blank=True)
    language = models.CharField(_("language"), max_length=10, choices=Language.choices, blank=True)
    is_anonymous = models.BooleanField(_("anonymous"), default=False)
    phone = PhoneNumberField(_("phone"), blank=True, db_index=True)
    gender = models.CharField(_("gender"), max_length=10, choices=Gender.choices, default="unknown")
    birth_year = models.PositiveSmallIntegerField(_("birth year"), null=True, blank=True)
    home_region = models.ForeignKey(
        Region, null=True, blank=True, on_delete=models.PROTECT, related_name="people"
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    school = models.CharField(_("school or workplace"), max_length=150, blank=True)
    notes = EncryptedNotesField(_("notes"), blank=True)  # encrypted at rest
    anonymised_at = models.DateTimeField(_("anonymised at"), null=True, blank=True)
    # Set when a coordinator merged this record into another (the same person found twice).
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_from"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        constraints = [
            # 一人一例 starts here: a number names one person, so two first calls from a new
            # number at once cannot open two people (and so two cases). A withheld number is
            # stored blank and each such caller stays a person of their own until identified.
            models.UniqueConstraint(
                fields=["phone"],
                condition=~Q(phone=""),
                name="one_person_per_phone",
                violation_error_code=PHONE_TAKEN,
                violation_error_message=_("A person with this phone number is already on file."),
            ),
        ]

    def __str__(self) -> str:
        if self.is_anonymous or not (self.name or self.alias):
            return _("Anonymous #%(id)s") % {"id": self.pk}
        if self.name and self.alias:
            return f"{self.name}（{self.alias}）"
        return self.name or self.alias

    def save(self, *args, **kwargs):
        adding = self.pk is None  # auto ids: no id yet means a new row
        super().save(*args, **kwargs)
        if not adding:
            # Each case keeps the district of its person's home region (Case.district).
            district = self.district()
            self.cases.exclude(district=district).update(district=district)

    def district(self) -> Region | None:
        """The district/county (区县) of the home region (``Region.district``), if known."""
        return self.home_region.district() if self.home_region_id else None


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


class PersonPhone(models.Model):
    """A further number of a person (the first is ``Person.phone``). A number names one person:
    unique here, and the services refuse one that is another person's ``Person.phone``."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="phones")
    number = PhoneNumberField(_("phone"), unique=True)
    label = models.CharField(_("label"), max_length=50, blank=True)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("phone number")
        verbose_name_plural = _("phone numbers")
        ordering = ["id"]

    def __str__(self) -> str:
        return str(self.number)


class FlagKind(models.TextChoices):
    FREQUENT_CALLER = "frequent_caller", _("Frequent caller")
    KNOWN_HIGH_RISK = "known_high_risk", _("Known high risk")
    DO_NOT_CALL_BACK = "do_not_call_back", _("Do not call back on this number")
    ABUSIVE = "abusive", _("Abusive")


class PersonFlagQuerySet(models.QuerySet):
    def active(self, now=None):
        now = now or timezone.now()
        return self.filter(cleared_at__isnull=True).filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=now)
        )


class PersonFlag(models.Model):
    """A caller profile flag (as Aselo's helplines use them): who set it, why, until when."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="flags")
    kind = models.CharField(_("flag"), max_length=20, choices=FlagKind.choices)
    reason = models.TextField(_("reason"))
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    set_at = models.DateTimeField(_("set at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    cleared_at = models.DateTimeField(_("cleared at"), null=True, blank=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    clear_reason = models.TextField(_("why cleared"), blank=True)

    objects = PersonFlagQuerySet.as_manager()

    class Meta:
        verbose_name = _("caller flag")
        verbose_name_plural = _("caller flags")
        ordering = ["-set_at", "-id"]
        indexes = [models.Index(fields=["person", "cleared_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.person}"


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


class ResponsibleRole(models.TextChoices):
    """Who answers for an open case now, by rule (hotline.caseplan)."""

    COORDINATOR = "coordinator", _("On-duty coordinator")
    REFERRAL_RECEIVER = "referral_receiver", _("Receiver of the referral")
    HOSPITAL = "hospital", _("Hospital (admitted)")
    FOLLOW_UP_ASSIGNEE = "follow_up_assignee", _("Follow-up assignee")


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
    # Computed by hotline.caseplan from the case's open items (see refresh_next_step): what the
    # next step is about, and who answers for the case now (a person when known, else a role).
    next_step_kind = models.CharField(_("next step kind"), max_length=20, blank=True)
    responsible_role = models.CharField(
        _("responsible role"), max_length=30, choices=ResponsibleRole.choices, blank=True
    )
    responsible_organisation = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("responsible organisation"),
    )
    responsible_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("responsible person"),
    )
    stage_entered_at = models.DateTimeField(_("stage entered at"), default=timezone.now)
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    close_reason = models.TextField(_("close reason"), blank=True)
    # 区县: the district of the person's home region (``Region.district``), kept here by Case.save
    # and Person.save so the dashboard counts and filters cases by district from the case's own
    # row instead of looking up the person of each.
    district = models.ForeignKey(
        Region,
        null=True,
        blank=True,
        editable=False,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("district/county"),
    )

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
            models.Index(fields=["opened_at"], name="case_opened_at"),  # the dashboard's rollup
            # The dashboard's open-case counts: an index-only scan of the open cases.
            models.Index(
                fields=["stage", "risk", "owning_organisation", "district"],
                condition=~Q(stage="closed"),
                name="case_open_figures",
            ),
            # The open cases' ids in order: "is this item's case open?" as a merge anti-join.
            models.Index(fields=["id"], condition=~Q(stage="closed"), name="case_open_ids"),
            # The dashboard's high-risk open cases (no contact in N days), from the index alone.
            models.Index(
                fields=["risk", "opened_at", "id", "district", "owning_organisation"],
                condition=~Q(stage="closed"),
                name="case_open_risk_figures",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.person}"

    def save(self, *args, **kwargs):
        if self.pk is None and self.district_id is None:
            self.district = self.person.district()
        super().save(*args, **kwargs)

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
        """Organisations that hold this case: the owner plus every live organisation-wide grant.
        A grant to one person (break-glass) lets that person read; it does not open the case to
        their organisation."""
        ids = set(
            self.access_grants.live()
            .filter(user__isnull=True)
            .values_list("organisation_id", flat=True)
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
        indexes = [
            models.Index(fields=["stage", "entered_at"]),
            models.Index(fields=["left_at"], name="stagevisit_left_at"),  # the dashboard's rollup
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.stage} {self.entered_at:%Y-%m-%d %H:%M}"


class CaseAccessQuerySet(models.QuerySet):
    def live(self, now=None):
        """Grants in force: not revoked, and not past their end (the worker records the end as
        ``revoked_at`` later; reads must not wait for it)."""
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(ends_at__isnull=True) | models.Q(ends_at__gt=now)
        )


class CaseAccess(models.Model):
    """An organisation outside the owner allowed to see a case, and why (referral, dispatch...).

    With ``user`` set the grant is that person's alone (break-glass), not their organisation's.
    ``ends_at`` is when it ends by itself (a break-glass expiry, a closed dispatch's grace).
    """

    class Reason(models.TextChoices):
        REFERRAL = "referral", _("Referral")
        DISPATCH = "dispatch", _("Emergency dispatch")
        CARE_GROUP = "care_group", _("Care group")
        BREAK_GLASS = "break_glass", _("Emergency break-glass read")
        TRANSFER = "transfer", _("Ownership transferred")
        CALL_TRANSFER = "call_transfer", _("Call transferred")
        OVERFLOW = "overflow", _("Overflow call answered by a partner centre")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="access_grants")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="case_grants"
    )
    reason = models.CharField(max_length=20, choices=Reason.choices)
    note = models.CharField(max_length=200, blank=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="personal_case_grants",
    )
    granted_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = CaseAccessQuerySet.as_manager()

    class Meta:
        verbose_name = _("case access grant")
        verbose_name_plural = _("case access grants")
        indexes = [
            models.Index(fields=["organisation", "revoked_at"]),
            # the worker's sweep of grants due to end
            models.Index(
                fields=["ends_at"],
                condition=models.Q(revoked_at__isnull=True, ends_at__isnull=False),
                name="caseaccess_due_to_end",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation} -> case {self.case_id} ({self.reason})"


# --- calls, operators and triage (热线来电、接线员与分级研判) ----------------------------------


class CallStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    OFFERED = "offered", _("Offered")
    IN_PROGRESS = "in_progress", _("In progress")
    WRAP_UP = "wrap_up", _("Wrap-up")
    COMPLETED = "completed", _("Completed")
    ABANDONED = "abandoned", _("Abandoned")


WAITING_STATUSES = [CallStatus.QUEUED.value, CallStatus.OFFERED.value]


class CallChannel(models.TextChoices):
    TWILIO_VOICE = "twilio_voice", _("Hotline call (2251885)")
    WALK_IN = "walk_in", _("Walk-in")
    TRANSFER_110 = "transfer_110", _("Transfer from police 110")
    APPOINTMENT_LINE = "appointment_line", _("Appointment line (2259885)")
    CALLBACK = "callback", _("Call-back of an abandoned call")
    SMS = "sms", _("Text message (SMS)")
    WEBCHAT = "webchat", _("Web chat")
    WECHAT = "wechat", _("WeChat Official Account")


# A text conversation is a Call row too (one contact): same queue, triage and case.
TEXT_CHANNELS = [CallChannel.SMS.value, CallChannel.WEBCHAT.value, CallChannel.WECHAT.value]
VOICE_CHANNELS = [c.value for c in CallChannel if c.value not in TEXT_CHANNELS]

MANUAL_CHANNELS = [CallChannel.WALK_IN, CallChannel.TRANSFER_110, CallChannel.APPOINTMENT_LINE]
MANUAL_CHANNEL_CHOICES = [(c.value, c.label) for c in MANUAL_CHANNELS]


class CallerRelation(models.TextChoices):
    SELF = "self", _("The person themself")
    PARENT = "parent", _("Parent or guardian")
    RELATIVE = "relative", _("Other relative")
    PARTNER = "partner", _("Partner or spouse")
    TEACHER = "teacher", _("Teacher or school staff")
    FRIEND = "friend", _("Friend or classmate")
    COLLEAGUE = "colleague", _("Colleague")
    PROFESSIONAL = "professional", _("Professional (police, doctor, social worker)")
    OTHER = "other", _("Someone else")
    UNKNOWN = "unknown", _("Not yet known")


class Call(FSMModelMixin, models.Model):
    """One contact (来电/会话), keyed by Twilio ``CallSid`` (manual entries: ``MANUAL-...``, text
    conversations ``SMS-...``/``CHAT-...``/``WX-...``, whose messages are ``ContactMessage`` rows).

    Queue order is by ``rank_at``, a virtual arrival time ``queued_at - priority x aging``; see
    ``hotline.queue``.
    """

    call_sid = models.CharField(_("call SID"), max_length=64, unique=True)
    hotline = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="calls")
    channel = models.CharField(
        _("channel"), max_length=20, choices=CallChannel.choices, default=CallChannel.TWILIO_VOICE
    )
    status = FSMField(
        _("status"), default=CallStatus.QUEUED, choices=CallStatus.choices, protected=True
    )
    from_number = PhoneNumberField(_("from"), blank=True)
    from_raw = models.CharField(_("from (as received)"), max_length=64, blank=True)
    to_number = PhoneNumberField(_("to"), blank=True)
    caller_name = models.CharField(_("caller name"), max_length=100, blank=True)
    caller_relation = models.CharField(
        _("caller relation"),
        max_length=20,
        choices=CallerRelation.choices,
        default=CallerRelation.UNKNOWN,
    )
    person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="calls"
    )
    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.PROTECT, related_name="calls"
    )
    priority = models.IntegerField(_("priority"), default=0)
    priority_reasons = models.JSONField(_("priority reasons"), default=list, blank=True)
    rank_at = models.DateTimeField(default=timezone.now, db_index=True)
    callback_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="callbacks"
    )
    notes = models.TextField(_("notes"), blank=True)
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="hotline_calls",
    )
    offered_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    offer_expires_at = models.DateTimeField(null=True, blank=True)
    connected_via = models.CharField(max_length=20, blank=True)  # "twilio" | "console" | ""
    connect_target = models.CharField(max_length=200, blank=True)
    # The Twilio conference the call became when accepted (blank until it started).
    conference_sid = models.CharField(max_length=64, blank=True)
    twilio_status = models.CharField(max_length=20, blank=True)
    queued_at = models.DateTimeField(_("queued at"), default=timezone.now)
    offered_at = models.DateTimeField(_("offered at"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    wrap_up_started_at = models.DateTimeField(null=True, blank=True)
    wrap_up_ended_at = models.DateTimeField(null=True, blank=True)
    # The caller heard the recording announcement (录音告知), so the call may be recorded.
    recording_announced = models.BooleanField(default=False)
    # Overflow (溢出): the partner centre whose queue took the call; ``hotline`` still owns it.
    answering_centre = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="overflow_calls",
        verbose_name=_("answering centre"),
    )
    overflowed_at = models.DateTimeField(_("overflowed at"), null=True, blank=True)
    overflow_reason = models.CharField(max_length=20, blank=True)

    class Meta:
        verbose_name = _("call")
        verbose_name_plural = _("calls")
        indexes = [
            models.Index(fields=["hotline", "status", "rank_at"]),
            models.Index(fields=["operator", "status"]),
            models.Index(fields=["from_number", "queued_at"]),
            # The dashboard: calls per day (the rollup's live tail) and the calls now.
            models.Index(fields=["queued_at"], name="call_queued_at"),
            models.Index(
                fields=["status"],
                condition=Q(status__in=["queued", "offered", "in_progress", "wrap_up"]),
                name="call_live_status",
            ),
        ]
        # One live SMS thread per number (as ``open_sms_thread`` finds it): two first texts
        # from a new number at the same moment open one conversation, and the second text
        # continues it (``receive_sms``). By the E.164 number, else by the raw sender.
        constraints = [
            models.UniqueConstraint(
                fields=["from_number"],
                condition=Q(
                    channel="sms",
                    ended_at__isnull=True,
                    status__in=["queued", "offered", "in_progress", "wrap_up"],
                )
                & ~Q(from_number=""),
                name="one_open_sms_thread_per_number",
            ),
            models.UniqueConstraint(
                fields=["from_raw"],
                condition=Q(
                    channel="sms",
                    ended_at__isnull=True,
                    status__in=["queued", "offered", "in_progress", "wrap_up"],
                    from_number="",
                ),
                name="one_open_sms_thread_per_sender",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.call_sid} {self.status}"

    @property
    def is_text(self) -> bool:
        return self.channel in TEXT_CHANNELS

    @property
    def queue_centre_id(self) -> int:
        """The centre whose queue and operators the call is in (the partner after overflow)."""
        return self.answering_centre_id or self.hotline_id

    @property
    def wrap_up_seconds(self) -> int | None:
        if self.wrap_up_started_at and self.wrap_up_ended_at:
            return int((self.wrap_up_ended_at - self.wrap_up_started_at).total_seconds())
        return None

    @transition(field=status, source=CallStatus.QUEUED, target=CallStatus.OFFERED)
    def offer(self):
        pass

    @transition(field=status, source=CallStatus.OFFERED, target=CallStatus.QUEUED)
    def withdraw_offer(self):
        pass

    @transition(field=status, source=WAITING_STATUSES, target=CallStatus.IN_PROGRESS)
    def accept(self):
        pass

    @transition(field=status, source=WAITING_STATUSES, target=CallStatus.ABANDONED)
    def abandon(self):
        pass

    @transition(field=status, source=CallStatus.IN_PROGRESS, target=CallStatus.WRAP_UP)
    def start_wrap_up(self):
        pass

    @transition(field=status, source=CallStatus.IN_PROGRESS, target=CallStatus.COMPLETED)
    def end_unreached(self):
        """A call-back that reached nobody: nothing to triage."""

    @transition(field=status, source=CallStatus.WRAP_UP, target=CallStatus.COMPLETED)
    def complete(self):
        pass


class PresenceStatus(models.TextChoices):
    AVAILABLE = "available", _("Available")
    ON_CALL = "on_call", _("On a call")
    WRAP_UP = "wrap_up", _("Wrap-up")
    BREAK = "break", _("On a break")
    OFFLINE = "offline", _("Offline")


SETTABLE_PRESENCE = [PresenceStatus.AVAILABLE, PresenceStatus.BREAK, PresenceStatus.OFFLINE]
SETTABLE_PRESENCE_CHOICES = [(c.value, c.label) for c in SETTABLE_PRESENCE]


class Device(models.TextChoices):
    BROWSER = "browser", _("Browser (console)")
    DESK_PHONE = "desk_phone", _("Desk phone")
    SIP = "sip", _("SIP phone")


class OperatorPresence(models.Model):
    """Where an operator is (接线员状态). ``last_idle_at``: when they last became free, so the
    longest-idle available operator is offered the next call. ``missed_offers``: offers let
    lapse in a row, back to 0 when the operator answers or sets their own status."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="hotline_presence"
    )
    hotline = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="presences")
    status = models.CharField(
        max_length=20, choices=PresenceStatus.choices, default=PresenceStatus.OFFLINE
    )
    device = models.CharField(max_length=20, choices=Device.choices, default=Device.BROWSER)
    since = models.DateTimeField(default=timezone.now)
    last_idle_at = models.DateTimeField(default=timezone.now)
    missed_offers = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("operator presence")
        verbose_name_plural = _("operator presences")
        indexes = [models.Index(fields=["hotline", "status", "last_idle_at"])]

    def __str__(self) -> str:
        return f"{self.user} {self.status}"


class Shift(models.Model):
    """A rostered shift (排班): the 24-hour line shows who is on duty now."""

    class DutyRole(models.TextChoices):
        DOCTOR = "doctor", _("Hospital doctor")
        VOLUNTEER = "volunteer", _("Trained volunteer")
        LEAD = "lead", _("Shift lead")

    hotline = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="shifts")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="hotline_shifts"
    )
    duty_role = models.CharField(max_length=20, choices=DutyRole.choices, default="volunteer")
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))

    class Meta:
        verbose_name = _("shift")
        verbose_name_plural = _("shifts")
        ordering = ["starts_at"]
        indexes = [models.Index(fields=["hotline", "starts_at", "ends_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="shift_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.starts_at:%Y-%m-%d %H:%M}"


class CallbackOutcome(models.TextChoices):
    """What one call-back attempt came to; the first four close the task."""

    REACHED = "reached", _("Reached")
    WRONG_NUMBER = "wrong_number", _("Wrong number")
    DECLINED = "declined", _("Declined to talk")
    CALLED_AGAIN = "called_again", _("Called the line again themself")
    NO_ANSWER = "no_answer", _("No answer")
    BUSY = "busy", _("Line busy")


# Outcomes that end the task; the others leave it open to be tried again.
FINAL_CALLBACK_OUTCOMES = [
    CallbackOutcome.REACHED.value,
    CallbackOutcome.WRONG_NUMBER.value,
    CallbackOutcome.DECLINED.value,
    CallbackOutcome.CALLED_AGAIN.value,
]
# What an operator records after dialling (CALLED_AGAIN is the system's own).
ATTEMPT_OUTCOMES = [o for o in CallbackOutcome if o != CallbackOutcome.CALLED_AGAIN]
ATTEMPT_OUTCOME_CHOICES = [(o.value, o.label) for o in ATTEMPT_OUTCOMES]


class CallbackTask(models.Model):
    """回拨: an abandoned call from a real number, to be called back. A known high-risk person's
    goes into the call queue at once; anyone else's when ``due_at`` (the delay) has passed. It
    stays open until an outcome closes it; failed attempts are tried again."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DONE = "done", _("Done")

    abandoned_call = models.OneToOneField(
        Call, on_delete=models.PROTECT, related_name="callback_task"
    )
    # The call-back now in the call queue or being dialled (None: not yet due, or after a
    # failed attempt until it is taken again).
    queue_call = models.ForeignKey(
        Call, null=True, blank=True, on_delete=models.PROTECT, related_name="callback_for_tasks"
    )
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="callback_tasks")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    risk = models.CharField(_("known risk"), max_length=10, choices=Risk.choices, default="none")
    due_at = models.DateTimeField(_("due at"), default=timezone.now)
    outcome = models.CharField(
        _("outcome"), max_length=20, choices=CallbackOutcome.choices, blank=True
    )
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("call-back task")
        verbose_name_plural = _("call-back tasks")
        indexes = [
            models.Index(
                fields=["due_at"], condition=Q(status="open"), name="callbacktask_open_due"
            )
        ]

    def __str__(self) -> str:
        return f"call-back {self.abandoned_call_id} ({self.status})"


class CallbackAttempt(models.Model):
    """One try at a call-back: who dialled, when, and what came of it."""

    task = models.ForeignKey(CallbackTask, on_delete=models.CASCADE, related_name="attempts")
    call = models.ForeignKey(
        Call, null=True, blank=True, on_delete=models.PROTECT, related_name="callback_attempts"
    )
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    outcome = models.CharField(_("outcome"), max_length=20, choices=CallbackOutcome.choices)
    note = models.CharField(_("note"), max_length=500, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("call-back attempt")
        verbose_name_plural = _("call-back attempts")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"attempt {self.task_id} {self.outcome}"


class QueueSurge(models.Model):
    """A period when the queue is longer than ``HOTLINE_SURGE_QUEUE_LENGTH`` (one alert each)."""

    hotline = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="surges")
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    peak_length = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            # Two calls enqueued at once cannot both start a surge.
            models.UniqueConstraint(
                fields=["hotline"], condition=Q(ended_at__isnull=True), name="one_open_surge"
            )
        ]

    def __str__(self) -> str:
        return f"surge {self.hotline_id} {self.started_at:%H:%M}"


class Disposition(models.TextChoices):
    RESOLVED = "resolved", _("Resolved on the call")
    REFER = "refer", _("Refer to the counselling centre")
    CONTINUE_REFERRAL = "continue_referral", _("Continue the existing referral")
    EMERGENCY = "emergency", _("Emergency (one-key dispatch)")


class Triage(models.Model):
    """The structured screen of a call (分级研判); the rule is in ``hotline.triage``."""

    call = models.OneToOneField(Call, on_delete=models.PROTECT, related_name="triage")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="triages")
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    wish_to_be_dead = models.BooleanField()
    active_thoughts = models.BooleanField()
    method_thoughts = models.BooleanField(null=True)
    intent = models.BooleanField(null=True)
    plan = models.BooleanField(null=True)
    behaviour_3_months = models.BooleanField()
    behaviour_ever = models.BooleanField()
    harm_to_others = models.BooleanField()
    in_danger_now = models.BooleanField()
    protective_factors = models.JSONField(default=list, blank=True)
    notes = EncryptedNotesField(blank=True)  # encrypted at rest
    derived_risk = models.CharField(max_length=10, choices=Risk.choices)
    risk = models.CharField(max_length=10, choices=Risk.choices)
    lowered_reason = models.TextField(blank=True)
    disposition = models.CharField(max_length=20, choices=Disposition.choices)
    override_reason = models.TextField(blank=True)
    consent = models.BooleanField(default=True)
    consent_override_reason = models.TextField(blank=True)
    contact_phone = PhoneNumberField(blank=True)
    location = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("triage")
        verbose_name_plural = _("triages")

    def __str__(self) -> str:
        return f"triage {self.call_id} {self.risk}/{self.disposition}"


class TriageDraft(models.Model):
    """The risk screen half filled in (研判草稿): what the operator has answered so far on a call,
    kept on the server so a reload or a lost connection loses nothing. One per call; deleted
    when the triage is recorded. Encrypted at rest like the notes it may hold."""

    call = models.OneToOneField(Call, on_delete=models.CASCADE, related_name="triage_draft")
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    answers = EncryptedNotesField(blank=True)  # JSON of the form's fields
    saved_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"triage draft {self.call_id}"


class PostCallSms(models.Model):
    """话后短信: the hotline's numbers sent to the caller after the call, only with the consent
    asked on the call and never to a withheld number. The status follows Twilio's callback."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="post_call_sms")
    to = PhoneNumberField(_("to"))
    body = models.TextField(_("text"))
    gateway = models.CharField(max_length=20, blank=True)  # "twilio" | "console"
    provider_sid = models.CharField(max_length=64, blank=True, db_index=True)
    status = models.CharField(_("status"), max_length=20, default="queued")
    error = models.CharField(max_length=200, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    status_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("post-call SMS")
        verbose_name_plural = _("post-call SMS")

    def __str__(self) -> str:
        return f"post-call SMS {self.call_id} {self.status}"


# Modules of their own, registered with this app here: the conference legs (issue 18) and call
# recording (issue 18).
from hotline.conference_models import ConferenceParticipant  # noqa: E402, F401

# The transcript of a text conversation lives in its own module (imported here so Django finds it).
from hotline.conversation_models import ContactMessage  # noqa: E402, F401

# Models in modules of their own, registered with this app here: several centres and overflow
# (issue 21), recording (issue 18).
from hotline.overflow_models import CentreRouting  # noqa: E402, F401
from hotline.recording_models import CallRecording, HotlineLine  # noqa: E402, F401
from hotline.safety_plan import SafetyPlanMessage, SafetyPlanVersion  # noqa: E402,F401  (安全计划)
from hotline.wechat_models import PersonWeChat  # noqa: E402, F401  (微信公众号 openids)
