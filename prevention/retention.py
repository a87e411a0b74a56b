"""Retention of screening answers: once a campaign has been closed for
``SCREENING_RETENTION_DAYS``, the answers of slips that never flagged are deleted and the
campaign keeps only counts (by band). Flagged answers stay with the case they opened, under the
case's own retention. Idempotent: a campaign is marked ``purged_at`` in the same transaction."""

from collections import Counter
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from prevention.models import Campaign, Participation, ScreeningResponse


def expired_campaigns(now: datetime):
    cutoff = now - timedelta(days=settings.SCREENING_RETENTION_DAYS)
    return Campaign.objects.filter(closed_at__lt=cutoff, purged_at__isnull=True).order_by("pk")


def purge_campaign(campaign_id: int, now: datetime) -> int:
    """Delete one expired campaign's never-flagged answers; returns how many."""
    with transaction.atomic():
        campaign = expired_campaigns(now).select_for_update().filter(pk=campaign_id).first()
        if campaign is None:
            return 0
        kept = ScreeningResponse.objects.filter(
            campaign=campaign, participation__person__isnull=True
        )
        bands = Counter()
        for phq, gad in kept.values_list("phq9_band", "gad7_band"):
            if phq:
                bands[f"phq9:{phq}"] += 1
            if gad:
                bands[f"gad7:{gad}"] += 1
        deleted, _ = kept.delete()
        # The slips stay as counts (answered or not); their names and codes go.
        Participation.objects.filter(campaign=campaign, person__isnull=True).update(label="")
        campaign.band_counts = dict(sorted(bands.items()))
        campaign.purged_at = now
        campaign.save(update_fields=["band_counts", "purged_at"])
    return deleted


def purge_expired(now: datetime) -> int:
    return sum(
        purge_campaign(pk, now) for pk in list(expired_campaigns(now).values_list("pk", flat=True))
    )


def worker_hook(now: datetime) -> None:
    purge_expired(now)
