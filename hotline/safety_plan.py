"""The safety plan (安全计划, the Stanley-Brown safety planning intervention) written with a caller.

A plan belongs to a case and is kept as versions: every save adds an immutable row, the newest is
the current plan. The sections are one JSON document, encrypted at rest like other notes; the
SMS sent from a version is kept beside it (what went to whom, and Twilio's delivery status).
"""

import json

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField

from core.encryption import EncryptedNotesField

# The sections, in the order the intervention walks them; list sections hold short lines,
# the two contact sections hold {name, phone} rows (professionals may add an address/hours note).
LIST_SECTIONS = (
    ("warning_signs", _("Warning signs")),
    ("coping", _("Internal coping strategies")),
    ("distractions", _("People and social settings for distraction")),
)
CONTACT_SECTIONS = (
    ("helpers", _("People to ask for help")),
    ("professionals", _("Professionals and agencies")),
)
TAIL_SECTIONS = (
    ("environment", _("Making the environment safe")),
    ("reasons", _("Reasons for living")),
)
SECTION_LABELS = dict(LIST_SECTIONS + CONTACT_SECTIONS + TAIL_SECTIONS)
LINE_SECTIONS = tuple(k for k, _label in LIST_SECTIONS + TAIL_SECTIONS)
CONTACT_KEYS = tuple(k for k, _label in CONTACT_SECTIONS)


class SafetyPlanVersion(models.Model):
    """One saved version of a case's safety plan; never changed once written."""

    case = models.ForeignKey(
        "hotline.Case", on_delete=models.PROTECT, related_name="safety_plan_versions"
    )
    number = models.PositiveIntegerField(_("version"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    sections = EncryptedNotesField()  # JSON of every section; encrypted at rest
    sms_consent = models.BooleanField(_("consents to an SMS of the plan"), default=False)

    class Meta:
        ordering = ["case", "-number"]
        verbose_name = _("safety plan version")
        verbose_name_plural = _("safety plan versions")
        constraints = [
            models.UniqueConstraint(fields=["case", "number"], name="one_safety_plan_number"),
        ]

    def __str__(self) -> str:
        return f"safety plan case {self.case_id} v{self.number}"

    def save(self, *args, force_insert=False, **kwargs):
        # Versions are only inserted (the service creates them): a save that could update is
        # refused, so the history the counsellor reviews is the history that was written.
        if not force_insert:
            raise ValueError("A safety plan version cannot be changed; save a new version.")
        super().save(*args, force_insert=force_insert, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("A safety plan version cannot be deleted.")

    @property
    def content(self) -> dict:
        try:
            data = json.loads(self.sections or "{}")
        except ValueError:
            data = {}
        return data if isinstance(data, dict) else {}


class SafetyPlanMessage(models.Model):
    """One SMS (or one part of a long plan) sent to the caller from a version."""

    version = models.ForeignKey(
        SafetyPlanVersion, on_delete=models.PROTECT, related_name="messages"
    )
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    to = PhoneNumberField()
    part = models.PositiveSmallIntegerField(default=1)
    parts = models.PositiveSmallIntegerField(default=1)
    body = EncryptedNotesField()  # the plan's words: encrypted like the plan
    sid = models.CharField(max_length=64, blank=True, db_index=True)
    status = models.CharField(max_length=20, blank=True)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["sent_at", "part", "id"]

    def __str__(self) -> str:
        return f"safety plan sms {self.version_id} {self.part}/{self.parts}"
