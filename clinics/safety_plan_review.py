"""The safety plan reviewed at each follow-up (回访时回顾安全计划): unchanged, or updated as a
new version of the plan."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ReviewOutcome(models.TextChoices):
    UNCHANGED = "unchanged", _("Reviewed, unchanged")
    UPDATED = "updated", _("Updated (new version)")


class SafetyPlanReview(models.Model):
    follow_up = models.ForeignKey(
        "clinics.FollowUp", on_delete=models.PROTECT, related_name="safety_plan_reviews"
    )
    version = models.ForeignKey(
        "hotline.SafetyPlanVersion", on_delete=models.PROTECT, related_name="reviews"
    )
    outcome = models.CharField(max_length=20, choices=ReviewOutcome.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("safety plan review")
        verbose_name_plural = _("safety plan reviews")

    def __str__(self) -> str:
        return f"follow-up {self.follow_up_id} plan v{self.version_id} {self.outcome}"
