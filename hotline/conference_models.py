"""The legs of a call's conference (会议通话): the caller, the operator, a transfer's receiver,
a supervisor, a responder, an outside number. Imported by ``hotline.models``."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class ParticipantRole(models.TextChoices):
    CALLER = "caller", _("Caller")
    OPERATOR = "operator", _("Operator")
    TRANSFER_TARGET = "transfer_target", _("Transfer receiver")
    SUPERVISOR = "supervisor", _("Supervisor")
    RESPONDER = "responder", _("Responder")
    OUTSIDE = "outside", _("Outside number")


class ParticipantStatus(models.TextChoices):
    # offered: a transfer's receiver sees the case and has not been dialled yet
    OFFERED = "offered", _("Offered")
    DIALLING = "dialling", _("Dialling")
    JOINED = "joined", _("Joined")
    LEFT = "left", _("Left")


class TransferMode(models.TextChoices):
    WARM = "warm", _("Warm (consult first)")
    COLD = "cold", _("Cold")


class TransferTarget(models.TextChoices):
    OPERATOR = "operator", _("Another operator")
    COUNSELLOR = "counsellor", _("Counsellor on duty")
    SUPERVISOR = "supervisor", _("Supervisor on duty")
    NUMBER = "number", _("Outside number")


LIVE_PARTICIPANT = [
    ParticipantStatus.OFFERED.value,
    ParticipantStatus.DIALLING.value,
    ParticipantStatus.JOINED.value,
]


class ConferenceParticipant(models.Model):
    """One leg of the conference a hotline call becomes when accepted. ``call_sid`` is the
    leg's own Twilio call (the caller's is the call's ``call_sid``); the conference's status
    callbacks find the leg by it. A transfer's receiver carries the transfer's mode, target kind
    and the case grant it was given (ended if the transfer is cancelled)."""

    call = models.ForeignKey("hotline.Call", on_delete=models.CASCADE, related_name="participants")
    role = models.CharField(max_length=20, choices=ParticipantRole.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="conference_legs",
    )
    target = models.CharField(max_length=200, blank=True)  # client:..., a number, sip:...
    call_sid = models.CharField(max_length=64, blank=True, db_index=True)
    status = models.CharField(
        max_length=20, choices=ParticipantStatus.choices, default=ParticipantStatus.DIALLING
    )
    muted = models.BooleanField(default=False)
    on_hold = models.BooleanField(default=False)
    coaching = models.BooleanField(default=False)
    transfer_mode = models.CharField(max_length=10, choices=TransferMode.choices, blank=True)
    target_kind = models.CharField(max_length=20, choices=TransferTarget.choices, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    grant = models.ForeignKey(
        "hotline.CaseAccess", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    joined_at = models.DateTimeField(null=True, blank=True)
    left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("conference participant")
        verbose_name_plural = _("conference participants")
        ordering = ["created_at", "id"]
        constraints = [
            # One transfer at a time per call.
            models.UniqueConstraint(
                fields=["call"],
                condition=Q(role="transfer_target", status__in=LIVE_PARTICIPANT),
                name="one_live_transfer_per_call",
            )
        ]

    def __str__(self) -> str:
        return f"{self.call_id} {self.role} {self.status}"

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_PARTICIPANT
