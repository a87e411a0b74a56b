"""The transcript of a text conversation (短信/网络文字会话): one row per message."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.encryption import EncryptedNotesField


class MessageDirection(models.TextChoices):
    IN = "in", _("From the person")
    OUT = "out", _("From the operator")
    SYSTEM = "system", _("System message")


class DeliveryStatus(models.TextChoices):
    """Twilio's message statuses that the transcript shows (blank: not sent by SMS)."""

    NONE = "", _("Not applicable")
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
    UNDELIVERED = "undelivered", _("Not delivered")


class ContactMessage(models.Model):
    """One message of a text conversation. ``provider_sid`` is Twilio's MessageSid (unique: a
    webhook delivered twice records one message); ``body`` is encrypted at rest."""

    call = models.ForeignKey("hotline.Call", on_delete=models.CASCADE, related_name="messages")
    direction = models.CharField(_("direction"), max_length=10, choices=MessageDirection.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("author"),
    )
    body = EncryptedNotesField(_("message"), blank=True)  # encrypted at rest
    created_at = models.DateTimeField(_("at"), default=timezone.now)
    provider_sid = models.CharField(max_length=64, unique=True, null=True, blank=True)
    delivery_status = models.CharField(
        _("delivery"), max_length=20, choices=DeliveryStatus.choices, blank=True
    )
    error_code = models.CharField(_("error code"), max_length=20, blank=True)
    # 重发: the failed reply this one sends again (one-to-one: a failed reply is resent once).
    resend_of = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="resent_as",
        verbose_name=_("resend of"),
    )

    class Meta:
        verbose_name = _("conversation message")
        verbose_name_plural = _("conversation messages")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["call", "id"])]

    def __str__(self) -> str:
        return f"{self.call_id} {self.direction} {self.created_at:%H:%M:%S}"
