"""The migration that keeps one live SMS thread per number first folds the threads the old race
left: the oldest keeps every message, the newer ones end."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from tests.factories import OrganisationFactory

BEFORE = [("hotline", "0024_wechat")]
AFTER = [("hotline", "0025_one_open_sms_thread")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_two_live_threads_of_one_number_fold_into_the_oldest_with_every_message():
    hotline = OrganisationFactory(kind="hotline_centre")
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        apps = migrate(BEFORE)
        Call = apps.get_model("hotline", "Call")
        ContactMessage = apps.get_model("hotline", "ContactMessage")
        now = timezone.now()

        def thread(sid, number="", raw="", status="queued", minutes=0):
            at = now - timezone.timedelta(minutes=minutes)
            return Call.objects.create(
                call_sid=sid,
                hotline_id=hotline.pk,
                channel="sms",
                status=status,
                from_number=number,
                from_raw=raw or number,
                queued_at=at,
                rank_at=at,
            )

        older = thread("SMS-a", "+8613800000001", status="in_progress", minutes=5)
        newer = thread("SMS-b", "+8613800000001")
        other = thread("SMS-c", "+8613800000002")
        alpha_old = thread("SMS-d", raw="Bank", minutes=3)
        alpha_new = thread("SMS-e", raw="Bank")
        for call, body in [(older, "一"), (newer, "二"), (alpha_old, "三"), (alpha_new, "四")]:
            ContactMessage.objects.create(call=call, direction="in", body=body)

        apps = migrate(AFTER)
        Call = apps.get_model("hotline", "Call")
        ContactMessage = apps.get_model("hotline", "ContactMessage")
        folded = {c.call_sid: c for c in Call.objects.all()}
        assert folded["SMS-a"].ended_at is None and folded["SMS-a"].status == "in_progress"
        assert folded["SMS-b"].ended_at is not None and folded["SMS-b"].status == "abandoned"
        assert folded["SMS-c"].ended_at is None and folded["SMS-c"].status == "queued"
        assert folded["SMS-d"].ended_at is None and folded["SMS-e"].status == "abandoned"
        bodies = sorted(ContactMessage.objects.filter(call=older.pk).values_list("body", flat=True))
        assert bodies == ["一", "二"]
        bodies = sorted(
            ContactMessage.objects.filter(call=alpha_old.pk).values_list("body", flat=True)
        )
        assert bodies == ["三", "四"]
        assert not ContactMessage.objects.filter(call__in=[newer.pk, alpha_new.pk]).exists()
        assert other.pk in Call.objects.filter(ended_at__isnull=True).values_list("pk", flat=True)
    finally:
        migrate(latest)
