"""Other apps' deadlines raise alerts through the worker's sources, once, and clear themselves."""

from datetime import timedelta

from django.utils import timezone

from escalation.models import Alert
from escalation.sources import housekeeping, poll_sources
from hotline.models import QueueSurge
from realtime.models import Event
from tests.referrals.conftest import refer


def test_an_overdue_referral_alerts_the_receivers_counsellors_once_and_clears_on_ack(
    operator, counsellor_a, hotline_case, settings
):
    referral = refer(operator, hotline_case)  # high risk: 15 minutes to acknowledge
    poll_sources(timezone.now())
    assert not Alert.objects.filter(kind="referral_overdue").exists()

    later = referral.ack_due_at + timedelta(seconds=1)
    poll_sources(later)
    poll_sources(later)
    alert = Alert.objects.get(kind="referral_overdue")
    assert (alert.target_organisation, alert.target_role) == (referral.receiver, "counsellor")
    assert alert.severity == "critical" and alert.case == hotline_case

    from referrals import services as referral_services

    referral_services.acknowledge(counsellor_a, referral)
    poll_sources(later)
    alert.refresh_from_db()
    assert alert.state == "resolved" and alert.resolved_by is None
    assert "condition" in alert.resolution_note


def test_a_lost_follow_up_alerts_the_hotline_coordinators(operator, coordinator, hotline_case):
    from clinics import services as clinic_services
    from clinics.models import FollowUp

    clinic_services.schedule_follow_ups(
        operator,
        hotline_case,
        reason="resolved_call",
        organisation=hotline_case.owning_organisation,
        risk="moderate",
    )
    follow_up = FollowUp.objects.filter(case=hotline_case).order_by("due_at").first()
    for _ in range(3):
        follow_up = clinic_services.record_attempt(operator, follow_up, outcome="no_answer")
    assert follow_up.state == "lost"
    poll_sources(timezone.now())
    alert = Alert.objects.get(kind="follow_up_lost")
    assert alert.severity == "critical"
    assert alert.target_role == "coordinator"
    assert alert.target_organisation == hotline_case.owning_organisation


def test_a_queue_surge_alerts_once_and_clears_when_the_surge_ends(network, coordinator):
    surge = QueueSurge.objects.create(hotline=network["hotline"], peak_length=12)
    poll_sources(timezone.now())
    poll_sources(timezone.now())
    alert = Alert.objects.get(kind="queue_surge")
    assert alert.target_role == "coordinator" and "12" in alert.title
    surge.ended_at = timezone.now()
    surge.save()
    poll_sources(timezone.now())
    alert.refresh_from_db()
    assert alert.state == "resolved"


def test_housekeeping_returns_a_lapsed_offer_to_the_queue(network, operator, settings):
    from hotline import services as hotline_services
    from hotline.models import Call

    hotline_services.set_presence(operator, status="available")
    call = hotline_services.enter_manual_call(
        operator, channel="walk_in", from_number="13900000555"
    )
    call.refresh_from_db()
    assert call.status == "offered" and call.offered_to == operator
    housekeeping(call.offer_expires_at + timedelta(seconds=1))
    # The offer lapsed (by the clock the service reads) only once its time has really passed.
    call.refresh_from_db()
    assert call.status == "offered"
    Call.objects.filter(pk=call.pk).update(offer_expires_at=timezone.now() - timedelta(seconds=1))
    housekeeping(timezone.now())
    call.refresh_from_db()
    # Back to the queue, and offered afresh: one lapse leaves the operator available.
    assert Event.objects.filter(type="call.offer_expired").count() == 1
    assert call.status == "offered" and call.offer_expires_at > timezone.now()
