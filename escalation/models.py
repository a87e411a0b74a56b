"""One-key dispatch (一键智达), alerts and escalation policies, durable timers, SMS/calls."""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from directory.models import Organisation, Region, Role

SHORT_CODE_ALPHABET = "ACDEFHJKMNPRTWXY3479"  # no look-alikes (0/O, 1/I, 5/S...)


def new_short_code() -> str:
    return "".join(secrets.choice(SHORT_CODE_ALPHABET) for _ in range(5))


class DutyShift(models.Model):
    """On-duty roster (值班表) for coordinators and experts: who is on now."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="duty_shifts"
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="duty_shifts"
    )
    role = models.CharField(
        _("role"),
        max_length=20,
        choices=[(Role.COORDINATOR, Role.COORDINATOR.label), (Role.EXPERT, Role.EXPERT.label)],
    )
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))

    class Meta:
        ordering = ["starts_at"]
        verbose_name = _("duty shift")
        verbose_name_plural = _("duty roster")
        indexes = [models.Index(fields=["role", "starts_at", "ends_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="duty_shift_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.get_role_display()} {self.starts_at:%Y-%m-%d %H:%M}"


class ResponderKind(models.TextChoices):
    POLICE = "police", _("Police (110)")
    AMBULANCE = "ambulance", _("Ambulance (120)")
    COMMUNITY = "community", _("Community committee")
    EXPERT = "expert", _("Psychiatric expert on duty")


class Outcome(models.TextChoices):
    PERSON_REACHED = "person_reached", _("Person reached and safe")
    TAKEN_TO_HOSPITAL = "taken_to_hospital", _("Taken to hospital")
    FALSE_ALARM = "false_alarm", _("False alarm")
    NOT_FOUND = "not_found", _("Person not found")
    DECEASED = "deceased", _("Deceased")
    OTHER = "other", _("Other")


class Dispatch(FSMModelMixin, models.Model):
    """One-key emergency dispatch (一键智达): one leg per responder, all alerted at once."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    case = models.ForeignKey("hotline.Case", on_delete=models.PROTECT, related_name="dispatches")
    # The hotline Call model is built in parallel; the lead links it after merging.
    call = models.ForeignKey(
        "hotline.Call",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="dispatches",
        verbose_name=_("call"),
    )
    # Kept beside the call: the live Twilio leg that 110/120 are conferenced into.
    source_call_sid = models.CharField(_("source call SID"), max_length=64, blank=True)
    address = models.CharField(_("address given on the call"), max_length=200, blank=True)
    region = models.ForeignKey(
        Region, null=True, blank=True, on_delete=models.PROTECT, related_name="dispatches"
    )
    notes = models.TextField(_("notes"), blank=True)
    status = FSMField(
        _("status"), default=Status.OPEN, choices=Status.choices, protected=True, db_index=True
    )
    missing_kinds = models.JSONField(_("responders not found"), default=list, blank=True)
    # Legs the operator deliberately left out, with the written reason: {"police": "..."}.
    skipped_kinds = models.JSONField(_("responders left out"), default=dict, blank=True)
    # What was not known when help went out (codes, shown in words): help is never held up.
    warnings = models.JSONField(_("warnings"), default=list, blank=True)
    outcome = models.CharField(_("outcome"), max_length=30, choices=Outcome.choices, blank=True)
    help_reached = models.BooleanField(_("help reached the person"), null=True, blank=True)
    outcome_note = models.TextField(_("outcome note"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("dispatch")
        verbose_name_plural = _("dispatches")
        indexes = [models.Index(fields=["created_at"], name="dispatch_created_at")]  # dashboard

    def __str__(self) -> str:
        return f"#{self.pk} case {self.case_id}"

    @transition(field=status, source=Status.OPEN, target=Status.CLOSED)
    def close(self):
        pass


class LegState(models.TextChoices):
    NOTIFIED = "notified", _("Notified")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    EN_ROUTE = "en_route", _("En route")
    ON_SCENE = "on_scene", _("On scene")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


ACTIVE_LEG_STATES = [LegState.NOTIFIED, LegState.ACKNOWLEDGED, LegState.EN_ROUTE, LegState.ON_SCENE]


class DispatchLeg(FSMModelMixin, models.Model):
    """One responder of a dispatch: notified -> acknowledged -> en route -> on scene -> done."""

    dispatch = models.ForeignKey(Dispatch, on_delete=models.CASCADE, related_name="legs")
    kind = models.CharField(_("responder"), max_length=20, choices=ResponderKind.choices)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="dispatch_legs"
    )
    responder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="dispatch_legs",
    )
    state = FSMField(
        _("state"), default=LegState.NOTIFIED, choices=LegState.choices, protected=True
    )
    short_code = models.CharField(max_length=8, unique=True, default=new_short_code)
    notified_at = models.DateTimeField(default=timezone.now)
    ack_deadline = models.DateTimeField(_("acknowledge by"))
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_via = models.CharField(max_length=20, blank=True)
    state_changed_at = models.DateTimeField(default=timezone.now)
    failure_reason = models.TextField(_("failure reason"), blank=True)

    class Meta:
        ordering = ["dispatch_id", "id"]
        verbose_name = _("dispatch leg")
        verbose_name_plural = _("dispatch legs")
        constraints = [
            models.UniqueConstraint(fields=["dispatch", "kind"], name="one_leg_per_kind")
        ]
        indexes = [models.Index(fields=["state", "ack_deadline"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} / dispatch {self.dispatch_id}"

    @transition(field=state, source=LegState.NOTIFIED, target=LegState.ACKNOWLEDGED)
    def acknowledge(self):
        pass

    @transition(field=state, source=LegState.ACKNOWLEDGED, target=LegState.EN_ROUTE)
    def set_en_route(self):
        pass

    @transition(
        field=state, source=[LegState.ACKNOWLEDGED, LegState.EN_ROUTE], target=LegState.ON_SCENE
    )
    def arrive(self):
        pass

    @transition(
        field=state,
        source=[LegState.ACKNOWLEDGED, LegState.EN_ROUTE, LegState.ON_SCENE],
        target=LegState.DONE,
    )
    def finish(self):
        pass

    @transition(field=state, source=ACTIVE_LEG_STATES, target=LegState.FAILED)
    def fail(self):
        pass


class Channel(models.TextChoices):
    CONSOLE = "console", _("Console")
    SMS = "sms", _("SMS")
    VOICE = "voice", _("Voice call")


class Whom(models.TextChoices):
    TARGET = "target", _("The alert's own target")
    USER = "user", _("A named person")
    ORG_ROLE = "org_role", _("A role in an organisation")
    ON_DUTY_COORDINATOR = "on_duty_coordinator", _("The on-duty coordinator")


class EscalationPolicy(models.Model):
    """An ordered list of steps: whom, how (console/SMS/voice), then wait N seconds.

    ``steps`` is a JSON list of ``{"whom", "user", "organisation", "role", "how": [...], "wait"}``.
    The last step must be the on-duty coordinator of the city hotline centre (the fallback).
    ``escalation.policies.validate_steps`` checks that against who exists and is on duty now,
    where a policy is written: the admin form and the API.
    """

    name = models.CharField(_("name"), max_length=100, unique=True)
    alert_kind = models.CharField(
        _("alert kind"),
        max_length=50,
        blank=True,
        help_text=_("Empty: the default policy for every kind without its own."),
    )
    steps = models.JSONField(_("steps"), default=list)
    max_rounds = models.PositiveSmallIntegerField(
        _("rounds"),
        default=3,
        help_text=_("How many rounds before it stops; life-safety alerts never stop."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("escalation policy")
        verbose_name_plural = _("escalation policies")
        constraints = [
            models.UniqueConstraint(fields=["alert_kind"], name="one_policy_per_alert_kind")
        ]

    def __str__(self) -> str:
        return self.name


class Severity(models.TextChoices):
    INFO = "info", _("Information")
    WARNING = "warning", _("Warning")
    CRITICAL = "critical", _("Critical")
    LIFE_SAFETY = "life_safety", _("Life safety")


class AlertState(models.TextChoices):
    OPEN = "open", _("Open")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    RESOLVED = "resolved", _("Resolved")


class Alert(FSMModelMixin, models.Model):
    """Something a named person or a role in an organisation must acknowledge, then resolve."""

    dedup_key = models.CharField(max_length=200, unique=True)
    kind = models.CharField(_("kind"), max_length=50, db_index=True)
    title = models.CharField(_("title"), max_length=200)
    severity = models.CharField(
        _("severity"), max_length=20, choices=Severity.choices, default=Severity.WARNING
    )
    case = models.ForeignKey(
        "hotline.Case", null=True, blank=True, on_delete=models.PROTECT, related_name="alerts"
    )
    target_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    target_organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="alerts"
    )
    target_role = models.CharField(max_length=20, choices=Role.choices, blank=True)
    data = models.JSONField(default=dict, blank=True)
    state = FSMField(default=AlertState.OPEN, choices=AlertState.choices, protected=True)
    short_code = models.CharField(max_length=8, unique=True, default=new_short_code)
    # Frozen copy of the policy when raised (Grafana OnCall's escalation snapshot).
    policy_snapshot = models.JSONField(default=dict)
    round = models.PositiveIntegerField(default=0)
    step = models.PositiveIntegerField(default=0)
    next_step_at = models.DateTimeField(null=True, blank=True)
    notified_user_ids = models.JSONField(default=list, blank=True)
    raised_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolution_note = models.TextField(blank=True)
    # 交办督办: handed to another organisation with a deadline.
    assigned_organisation = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_alerts",
    )
    assignment_due = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        indexes = [models.Index(fields=["state", "next_step_at"])]

    def __str__(self) -> str:
        return self.title

    @property
    def is_life_safety(self) -> bool:
        return self.severity == Severity.LIFE_SAFETY

    @transition(field=state, source=AlertState.OPEN, target=AlertState.ACKNOWLEDGED)
    def acknowledge(self):
        pass

    @transition(
        field=state, source=[AlertState.OPEN, AlertState.ACKNOWLEDGED], target=AlertState.RESOLVED
    )
    def resolve(self):
        pass

    @transition(field=state, source=AlertState.ACKNOWLEDGED, target=AlertState.OPEN)
    def reopen(self):
        pass


class OutboundMessage(models.Model):
    """Every SMS and voice call sent (or recorded by the console gateway), with retries."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed (will retry)")
        GAVE_UP = "gave_up", _("Failed (gave up)")

    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    to = models.CharField(_("to"), max_length=40)
    body = models.TextField(_("text"))
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    gateway = models.CharField(_("gateway"), max_length=20, blank=True)
    provider_sid = models.CharField(max_length=64, blank=True, db_index=True)
    token = models.CharField(max_length=64, unique=True, default=secrets.token_urlsafe)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    dispatch = models.ForeignKey(
        Dispatch, null=True, blank=True, on_delete=models.CASCADE, related_name="messages"
    )
    leg = models.ForeignKey(
        DispatchLeg, null=True, blank=True, on_delete=models.CASCADE, related_name="messages"
    )
    alert = models.ForeignKey(
        Alert, null=True, blank=True, on_delete=models.CASCADE, related_name="messages"
    )
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("outbound message")
        verbose_name_plural = _("outbound messages")

    def __str__(self) -> str:
        return f"{self.get_channel_display()} -> {self.to} ({self.status})"


class InboundMessage(models.Model):
    """An SMS reply that acknowledged something; MessageSid unique: a redelivery is a no-op."""

    message_sid = models.CharField(max_length=64, unique=True)
    from_number = models.CharField(max_length=40)
    body = models.TextField()
    leg = models.ForeignKey(DispatchLeg, null=True, blank=True, on_delete=models.SET_NULL)
    alert = models.ForeignKey(Alert, null=True, blank=True, on_delete=models.SET_NULL)
    received_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.message_sid


class Timer(models.Model):
    """A deadline that cannot be lost: a row with its due time, fired exactly once by a worker."""

    class Kind(models.TextChoices):
        ALERT_STEP = "alert_step", _("Escalation step")
        LEG_DEADLINE = "leg_deadline", _("Leg acknowledgement deadline")
        SEND = "send", _("Send a message")
        ASSIGNMENT_DUE = "assignment_due", _("Assignment deadline")
        PROBE = "probe", _("Probe (benchmarks)")
        HOOK = "hook", _("Outbound hook delivery")

    kind = models.CharField(max_length=20, choices=Kind.choices)
    # Idempotency key, e.g. "alert:12:r1:s2"; scheduling the same step twice is a no-op.
    key = models.CharField(max_length=200, unique=True)
    due_at = models.DateTimeField()
    alert = models.ForeignKey(Alert, null=True, blank=True, on_delete=models.CASCADE)
    leg = models.ForeignKey(DispatchLeg, null=True, blank=True, on_delete=models.CASCADE)
    message = models.ForeignKey(OutboundMessage, null=True, blank=True, on_delete=models.CASCADE)
    round = models.PositiveIntegerField(default=0)
    step = models.PositiveIntegerField(default=0)
    fired_at = models.DateTimeField(null=True, blank=True)
    fired_by = models.CharField(max_length=80, blank=True)
    fire_count = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("timer")
        verbose_name_plural = _("timers")
        indexes = [
            models.Index(
                fields=["due_at"], condition=Q(fired_at__isnull=True), name="timer_pending_due"
            )
        ]

    def __str__(self) -> str:
        return f"{self.key} @ {self.due_at:%H:%M:%S}"


class WorkerHeartbeat(models.Model):
    worker = models.CharField(max_length=120, unique=True)
    beat_at = models.DateTimeField()
    started_at = models.DateTimeField()
    fired = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.worker} {self.beat_at:%H:%M:%S}"
