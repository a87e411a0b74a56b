"""A positive item 9 raises an alert that escalates, step by step, until the task is taken."""

from datetime import timedelta

from django.utils import timezone

from escalation.models import Alert
from escalation.worker import run_until_idle
from prevention import services
from prevention.models import ScreeningTask
from realtime.models import Event
from tests.prevention.conftest import answer


def _notified(alert):
    return [
        (e.data["fired_round"], e.data["fired_step"], sorted(e.data["users"]))
        for e in Event.objects.filter(type="alert.notified", data__alert=alert.pk).order_by("id")
    ]


def test_the_item9_alert_escalates_to_the_coordinator_until_acknowledged(
    campaign, teacher, coordinator, settings
):
    settings.ESCALATION_DEFAULT_FIRST_WAIT = 60
    settings.ESCALATION_DEFAULT_FALLBACK_WAIT = 120
    slip = answer(campaign.participations.order_by("pk").first(), phq9=[0] * 8 + [3])
    task = ScreeningTask.objects.get(participation=slip)
    alert = Alert.objects.get(dedup_key=f"screening:{task.pk}:item9")
    t0 = timezone.now()
    run_until_idle(now=t0)
    assert _notified(alert) == [(0, 0, [teacher.pk])]

    # Nobody acknowledges: the teacher again, then the on-duty coordinator.
    run_until_idle(now=t0 + timedelta(seconds=61))
    run_until_idle(now=t0 + timedelta(seconds=122))
    fired = _notified(alert)
    assert [(r, s) for r, s, _u in fired] == [(0, 0), (0, 1), (0, 2)]
    assert coordinator.pk in fired[2][2]

    services.acknowledge_task(teacher, task)
    alert.refresh_from_db()
    assert alert.state == "resolved"
    run_until_idle(now=t0 + timedelta(hours=2))
    assert len(_notified(alert)) == 3  # taken in hand: no further step fires
