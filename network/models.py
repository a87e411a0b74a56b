"""Outbound hooks (订阅推送), partner credentials for inbound status, received Encounters."""

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from encrypted_fields.fields import EncryptedCharField

from directory.models import Organisation


def new_secret() -> str:
    return secrets.token_urlsafe(32)


class HookSubscription(models.Model):
    """An organisation's system that receives the events it is entitled to, signed."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="hook_subscriptions"
    )
    url = models.URLField(_("URL"), max_length=500)
    secret = EncryptedCharField(_("shared secret"), max_length=200, default=new_secret)
    event_types = models.JSONField(_("event types"), default=list)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["organisation_id", "pk"]
        verbose_name = _("hook subscription")
        verbose_name_plural = _("hook subscriptions")

    def __str__(self) -> str:
        return f"{self.organisation} -> {self.url}"


class HookDelivery(models.Model):
    """One event for one subscription: created once (unique), retried until a 2xx."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed (gave up)")

    subscription = models.ForeignKey(
        HookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey("realtime.Event", on_delete=models.CASCADE, related_name="+")
    event_type = models.CharField(_("event type"), max_length=64)
    # The body, frozen when the event happened: every retry sends the same bytes.
    payload = models.JSONField(default=dict)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(_("last response"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("hook delivery")
        verbose_name_plural = _("hook deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "event"], name="one_delivery_per_event_and_subscription"
            )
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk} {self.event_type} ({self.status})"


class PartnerSystem(models.Model):
    """A 110/120/community platform that reports leg progress, signed with its shared secret.

    Its reports act as ``acting_user`` (a member of the organisation), so the leg changes exactly
    as that responder's page would change it, and the timeline names who.
    """

    organisation = models.OneToOneField(
        Organisation, on_delete=models.PROTECT, related_name="partner_system"
    )
    secret = EncryptedCharField(_("shared secret"), max_length=200, default=new_secret)
    acting_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("acts as"),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("partner system")
        verbose_name_plural = _("partner systems")

    def __str__(self) -> str:
        return str(self.organisation)


class PartnerRequest(models.Model):
    """A signature already used: the same signed request again is a replay and refused."""

    partner = models.ForeignKey(PartnerSystem, on_delete=models.CASCADE, related_name="+")
    signature = models.CharField(max_length=100)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["partner", "signature"], name="one_use_per_signature")
        ]

    def __str__(self) -> str:
        return f"{self.partner_id} {self.received_at:%H:%M:%S}"


class ReceivedEncounter(models.Model):
    """An Encounter a hospital reported for a referral; (identifier, status) once only."""

    referral = models.ForeignKey("referrals.Referral", on_delete=models.PROTECT, related_name="+")
    identifier = models.CharField(max_length=200)
    status = models.CharField(max_length=20)
    admission = models.ForeignKey(
        "clinics.Admission", null=True, on_delete=models.PROTECT, related_name="+"
    )
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["referral", "identifier", "status"], name="one_encounter_report"
            )
        ]

    def __str__(self) -> str:
        return f"{self.identifier} {self.status}"
