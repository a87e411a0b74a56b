"""One follow-up plan per case: every trigger merges into the open plan, earliest due wins."""

import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from clinics import services
from clinics.models import FollowUp
from hotline import services as hotline_services
from hotline.signals import disposition_made
from realtime.models import Event
from referrals import services as referral_services
from tests.referrals.conftest import SUMMARY, refer


def pending(case):
    return list(FollowUp.objects.filter(case=case, state="scheduled").order_by("due_at", "id"))


def hours_from(start, follow_ups):
    return [round((f.due_at - start).total_seconds() / 3600) for f in follow_ups]


def test_a_second_trigger_adds_no_second_plan(network, operator, hotline_case):
    start = timezone.now()
    first = services.schedule_follow_ups(
        operator, hotline_case, reason="resolved_call", organisation=network["hotline"], start=start
    )
    again = services.schedule_follow_ups(
        operator,
        hotline_case,
        reason="completed",
        organisation=network["hotline"],
        start=start + timedelta(hours=2),
    )
    assert [f.pk for f in again] == [f.pk for f in first]
    assert FollowUp.objects.filter(case=hotline_case).count() == 3
    # The later trigger's calls are all later: the open plan keeps its dues and its reason.
    assert hours_from(start, pending(hotline_case)) == list(settings.FOLLOW_UP_HOURS_DEFAULT)
    assert {f.reason for f in pending(hotline_case)} == {"resolved_call"}
    assert not Event.objects.filter(type="follow_up.rescheduled").exists()


def test_an_earlier_call_tightens_the_plan_and_passes_it_to_the_trigger(
    network, operator, nurse, hotline_case
):
    start = timezone.now()
    services.schedule_follow_ups(
        operator, hotline_case, reason="resolved_call", organisation=network["hotline"], start=start
    )
    hotline_services.grant_access(
        hotline_case, network["hospital"], reason="referral", granted_by=operator
    )
    # High risk: the first contact within 24 h, earlier than the plan's 48 h.
    services.schedule_follow_ups(
        nurse,
        hotline_case,
        reason="discharge",
        organisation=network["hospital"],
        start=start,
        risk="high",
    )
    plan = pending(hotline_case)
    assert len(plan) == 3
    assert hours_from(start, plan) == [24, 168, 720]
    assert [f.reason for f in plan] == ["discharge", "resolved_call", "resolved_call"]
    assert plan[0].organisation == network["hospital"]
    moved = Event.objects.get(type="follow_up.rescheduled")
    assert moved.data["follow_up"] == plan[0].pk
    assert moved.data["previous_due_at"] == (start + timedelta(hours=48)).isoformat()


def test_a_plan_partly_done_is_topped_up_to_one_plan_not_doubled(network, operator, hotline_case):
    long_ago = timezone.now() - timedelta(days=10)
    old = services.schedule_follow_ups(
        operator,
        hotline_case,
        reason="resolved_call",
        organisation=network["hotline"],
        start=long_ago,
    )
    for follow_up in old[:2]:
        services.record_attempt(operator, follow_up, outcome="reached", notes="还好")
    now = timezone.now()
    services.schedule_follow_ups(
        operator, hotline_case, reason="no_show", organisation=network["hotline"], start=now
    )
    plan = pending(hotline_case)
    # The old 30-day call (due in 20 days) moves up to the new 48 h; 7 and 30 days are added.
    assert hours_from(now, plan) == list(settings.FOLLOW_UP_HOURS_DEFAULT)
    assert plan[0].pk == old[2].pk
    assert FollowUp.objects.filter(case=hotline_case).count() == 5


def test_disposition_discharge_and_completion_on_one_case_make_one_plan_with_earliest_dues(
    care_network, operator, counsellor_a, nurse, hotline_case
):
    net = care_network
    began = timezone.now()
    # 1. A resolved moderate call: the hotline's plan (48 h, 7 d, 30 d).
    with transaction.atomic():
        disposition_made.send(
            sender=None,
            actor=operator,
            case=hotline_case,
            disposition="resolved",
            call=None,
            summary={**SUMMARY, "risk": "moderate"},
        )
    assert len(pending(hotline_case)) == 3
    # 2. Referred on, transferred to hospital by the green channel, admitted and discharged;
    #    the risk rose to high meanwhile, so the discharge wants a first call within 24 h.
    referral = refer(operator, hotline_case)
    referral_services.acknowledge(counsellor_a, referral)
    transfer = referral_services.send_referral(
        counsellor_a,
        hotline_case,
        kind="green_channel",
        receiver=net["hospital"],
        service="youth_ward",
        consent=True,
        parent=referral,
    )
    transfer = referral_services.acknowledge(nurse, transfer)
    hotline_services.set_risk(operator, hotline_case, "high", reason="自伤加重")
    admission = services.admit(nurse, transfer, ward="青少年病区", bed="3")
    services.discharge(nurse, admission, summary="病情稳定", follow_up_plan="每月门诊")
    # 3. The counselling referral is completed afterwards: the loop is already in 回访.
    referral_services.complete(counsellor_a, referral, outcome="已转诊并出院")

    plan = pending(hotline_case)
    assert len(plan) == 3
    assert FollowUp.objects.filter(case=hotline_case).count() == 3
    first, week, month = plan
    assert first.reason == "discharge" and first.organisation == net["hospital"]
    assert first.due_at <= timezone.now() + timedelta(hours=24)
    # The 7- and 30-day calls of the first plan were already the earliest: they stay.
    assert (week.reason, month.reason) == ("resolved_call", "resolved_call")
    assert week.due_at <= began + timedelta(hours=168, minutes=1)
    assert month.due_at <= began + timedelta(hours=720, minutes=1)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_triggers_at_once_still_make_one_plan(network, operator, hotline_case):
    """Both would see no open plan without the case's row lock; the second waits and merges."""
    barrier = threading.Barrier(2)
    errors = []

    def trigger(reason):
        try:
            barrier.wait()
            services.schedule_follow_ups(
                operator, hotline_case, reason=reason, organisation=network["hotline"]
            )
        except Exception as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=trigger, args=(r,)) for r in ("no_show", "completed")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert FollowUp.objects.filter(case=hotline_case, state="scheduled").count() == 3
