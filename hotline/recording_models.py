"""Call recording (通话录音) with consent: which lines record, and the recordings kept here.

Imported at the end of ``hotline.models`` so Django registers the models with the app.
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField

DEFAULT_ANNOUNCEMENT = "为了保证服务质量，本次通话将被录音。"


class HotlineLine(models.Model):
    """One number callers dial (热线号码), e.g. 2251885: whether its calls are recorded and the
    consent announcement played before the caller is queued. A number with no row is not
    recorded and hears no announcement."""

    number = PhoneNumberField(_("number"), unique=True)
    organisation = models.ForeignKey(
        "directory.Organisation", on_delete=models.PROTECT, related_name="hotline_lines"
    )
    record_calls = models.BooleanField(_("record calls"), default=False)
    announcement = models.CharField(
        _("recording announcement"), max_length=300, default=DEFAULT_ANNOUNCEMENT
    )

    class Meta:
        verbose_name = _("hotline line")
        verbose_name_plural = _("hotline lines")

    def __str__(self) -> str:
        return str(self.number)


class CallRecording(models.Model):
    """A recording of a call, copied from Twilio into the project's storage and then deleted at
    Twilio; its file is removed after ``RECORDING_RETENTION_DAYS`` (the row stays, marked)."""

    call = models.ForeignKey("hotline.Call", on_delete=models.PROTECT, related_name="recordings")
    recording_sid = models.CharField(_("recording SID"), max_length=64, unique=True)
    duration = models.PositiveIntegerField(_("duration (seconds)"), default=0)
    storage_name = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(_("recorded at"), default=timezone.now, db_index=True)
    fetched_at = models.DateTimeField(null=True, blank=True)
    twilio_deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True)

    class Meta:
        verbose_name = _("call recording")
        verbose_name_plural = _("call recordings")

    def __str__(self) -> str:
        return self.recording_sid

    @property
    def playable(self) -> bool:
        return bool(self.fetched_at and self.storage_name and not self.deleted_at)
