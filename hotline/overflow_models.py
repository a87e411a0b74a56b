"""Several hotline centres in one installation (多中心与溢出): each centre's routing rules.

Imported at the end of ``hotline.models`` so Django registers the model with the app.
"""

from datetime import datetime, time

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class CentreRouting(models.Model):
    """When a hotline centre's waiting calls go to its partner centre (溢出规则): outside its
    hours, after ``overflow_after_seconds`` with no operator free, or beyond ``max_queue_length``
    waiting. The provincial 12356 centre is open 24 hours."""

    centre = models.OneToOneField(
        "directory.Organisation",
        on_delete=models.CASCADE,
        related_name="routing",
        verbose_name=_("hotline centre"),
    )
    partner = models.ForeignKey(
        "directory.Organisation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("partner centre"),
    )
    open_24h = models.BooleanField(_("open 24 hours"), default=True)
    opens_at = models.TimeField(_("opens at"), null=True, blank=True)
    closes_at = models.TimeField(_("closes at"), null=True, blank=True)
    overflow_after_seconds = models.PositiveIntegerField(
        _("overflow after (seconds)"), null=True, blank=True
    )
    max_queue_length = models.PositiveIntegerField(_("max queue length"), null=True, blank=True)

    class Meta:
        verbose_name = _("centre routing")
        verbose_name_plural = _("centre routings")

    def __str__(self) -> str:
        return str(self.centre)

    @property
    def wait_limit(self) -> int:
        return self.overflow_after_seconds or settings.HOTLINE_OVERFLOW_AFTER_SECONDS

    def is_open(self, now: datetime | None = None) -> bool:
        """Open at ``now`` in local time; hours past midnight (22:00-08:00) wrap."""
        if self.open_24h or self.opens_at is None or self.closes_at is None:
            return True
        at: time = timezone.localtime(now or timezone.now()).time()
        if self.opens_at <= self.closes_at:
            return self.opens_at <= at < self.closes_at
        return at >= self.opens_at or at < self.closes_at

    @property
    def queue_name(self) -> str:
        """The Twilio queue the centre's callers wait in."""
        return queue_name_of(self.centre)


def queue_name_of(centre) -> str:
    return f"hotline-{centre.code}"[:64] if centre.code else "hotline"
