"""Retention: once a campaign has been closed SCREENING_RETENTION_DAYS, the answers that never
flagged are deleted and only their counts stay; flagged answers stay with their case."""

from datetime import timedelta

from django.test import override_settings
from django.utils import timezone

from prevention import retention, services
from prevention.models import Participation, ScreeningResponse
from prevention.selectors import campaign_figures
from tests.prevention.conftest import answer


@override_settings(SCREENING_RETENTION_DAYS=30)
def test_unflagged_answers_go_after_retention_and_the_counts_stay(campaign, teacher):
    slips = list(campaign.participations.order_by("pk"))
    flagged = answer(slips[0], phq9=[0] * 8 + [1])  # item 9
    watched = answer(slips[1], phq9=[2] * 7 + [0, 0])  # 14: moderate, kept in view
    answer(slips[2], phq9=[1] * 8 + [0], gad7=[1] * 7)  # 8 and 7: mild
    answer(slips[3])  # minimal
    before = campaign_figures([campaign])[0]
    services.close_campaign(teacher, campaign)
    campaign.refresh_from_db()
    closed = campaign.closed_at

    # Not yet: the day before retention ends nothing goes.
    assert retention.purge_expired(closed + timedelta(days=29)) == 0
    assert ScreeningResponse.objects.filter(campaign=campaign).count() == 4

    assert retention.purge_expired(closed + timedelta(days=31)) == 2
    kept = set(
        ScreeningResponse.objects.filter(campaign=campaign).values_list("participation", flat=True)
    )
    # The flagged and the watched answers belong to a person's case: they stay.
    assert kept == {flagged.pk, watched.pk}
    campaign.refresh_from_db()
    assert campaign.purged_at is not None
    assert campaign.band_counts == {
        "gad7:minimal": 1,
        "gad7:mild": 1,
        "phq9:minimal": 1,
        "phq9:mild": 1,
    }
    # The slips stay as counts: invited, answered, flagged are what they were.
    assert campaign_figures([campaign])[0] == before
    assert Participation.objects.filter(campaign=campaign).count() == 5

    # Idempotent: a second run deletes nothing more and keeps the counts.
    assert retention.purge_expired(closed + timedelta(days=60)) == 0
    campaign.refresh_from_db()
    assert sum(campaign.band_counts.values()) == 4


@override_settings(SCREENING_RETENTION_DAYS=30)
def test_an_open_campaign_keeps_its_answers(campaign):
    answer(campaign.participations.first())
    assert retention.purge_expired(timezone.now() + timedelta(days=365)) == 0
    assert ScreeningResponse.objects.filter(campaign=campaign).count() == 1
