"""The "refer" disposition pushes the case to the counselling centre in the triage transaction."""

from datetime import UTC, datetime

import pytest
from django.db import transaction

from core.errors import Invalid
from hotline import services as hotline_services
from hotline.models import CaseAccess
from hotline.signals import disposition_made
from realtime.models import Event
from referrals.deadlines import acknowledgement_deadline, add_working_days
from referrals.models import Referral
from tests.referrals.conftest import SUMMARY, refer


def test_it_creates_the_referral_grants_access_and_tells_the_centre(
    network, operator, hotline_case
):
    referral = refer(operator, hotline_case)
    assert referral.receiver == network["centre_a"]  # covers the person's village (city-wide)
    assert referral.sender == network["hotline"]
    assert referral.state == "sent"
    assert referral.urgency == "high"
    assert referral.snapshot["notes"] == SUMMARY["notes"]
    assert referral.snapshot["screen"]["past_attempt"] is True
    assert referral.consent is True
    assert (referral.ack_due_at - referral.sent_at).total_seconds() == 15 * 60
    assert CaseAccess.objects.filter(
        case=hotline_case, organisation=network["centre_a"], reason="referral"
    ).exists()
    event = Event.objects.get(type="referral.sent")
    audiences = set(event.audience_rows.values_list("audience", flat=True))
    assert f"orgrole:{network['centre_a'].pk}:counsellor" in audiences
    assert f"orgrole:{network['hotline'].pk}:operator" in audiences
    assert not any(a.startswith("org:") for a in audiences)  # by role, not whole organisations
    assert event.data["referral"] == referral.pk
    hotline_case.refresh_from_db()
    assert hotline_case.stage == "intervention"


def test_it_chooses_the_centre_covering_the_persons_region(network, operator):
    person = hotline_services.create_person(operator, name="小德", home_region=network["deqing"])
    case = hotline_services.open_case(
        operator, person=person, owning_organisation=network["hotline"], risk="moderate"
    )
    referral = refer(operator, case, risk="moderate")
    assert referral.receiver == network["centre_b"]
    assert (referral.ack_due_at - referral.sent_at).total_seconds() == 4 * 3600


def test_other_dispositions_create_no_referral(operator, hotline_case):
    with transaction.atomic():
        disposition_made.send(
            sender=None,
            actor=operator,
            case=hotline_case,
            disposition="emergency",
            call=None,
            summary=SUMMARY,
        )
    assert not Referral.objects.exists()


def test_a_failure_in_the_receiver_rolls_the_whole_triage_back(network, operator, hotline_case):
    """No consent and no documented override: the receiver refuses and nothing is kept."""
    with pytest.raises(Invalid, match="consent"), transaction.atomic():
        hotline_services.set_risk(operator, hotline_case, "high", reason="triage")
        disposition_made.send(
            sender=None,
            actor=operator,
            case=hotline_case,
            disposition="refer",
            call=None,
            summary={**SUMMARY, "consent": False, "consent_override_reason": ""},
        )
    hotline_case.refresh_from_db()
    assert hotline_case.risk == "moderate"
    assert not Referral.objects.exists()
    assert not CaseAccess.objects.exists()
    assert not Event.objects.filter(type__in=["case.risk_changed", "referral.sent"]).exists()


def test_an_override_reason_stands_in_for_consent(operator, hotline_case):
    referral = refer(
        operator, hotline_case, consent=False, consent_override_reason="未成年人，生命安全优先"
    )
    assert referral.consent is False
    assert referral.consent_override_reason == "未成年人，生命安全优先"


def test_a_resolved_moderate_call_schedules_follow_ups(network, operator, hotline_case):
    with transaction.atomic():
        disposition_made.send(
            sender=None,
            actor=operator,
            case=hotline_case,
            disposition="resolved",
            call=None,
            summary={**SUMMARY, "risk": "moderate"},
        )
    due = [
        (f.due_at - f.created_at).total_seconds() / 3600
        for f in hotline_case.follow_ups.order_by("sequence")
    ]
    assert [round(h) for h in due] == [48, 168, 720]
    assert {f.organisation for f in hotline_case.follow_ups.all()} == {network["hotline"]}
    assert Event.objects.filter(type="follow_up.scheduled").count() == 3


def test_a_resolved_low_risk_call_schedules_nothing(operator, hotline_case):
    hotline_case = hotline_services.set_risk(operator, hotline_case, "low")
    with transaction.atomic():
        disposition_made.send(
            sender=None,
            actor=operator,
            case=hotline_case,
            disposition="resolved",
            call=None,
            summary={**SUMMARY, "risk": "low"},
        )
    assert not hotline_case.follow_ups.exists()


def test_working_days_skip_the_weekend_in_shanghai_time():
    # Thursday 2026-01-08 10:00 Shanghai = 02:00 UTC -> Monday 2026-01-12 10:00 Shanghai.
    start = datetime(2026, 1, 8, 2, 0, tzinfo=UTC)
    assert add_working_days(start, 2) == datetime(2026, 1, 12, 2, 0, tzinfo=UTC)
    # Saturday counts from Monday 00:00 Shanghai: due Wednesday 00:00 = Tuesday 16:00 UTC.
    saturday = datetime(2026, 1, 10, 6, 0, tzinfo=UTC)
    assert add_working_days(saturday, 2) == datetime(2026, 1, 13, 16, 0, tzinfo=UTC)
    # Friday 23:30 Shanghai is Friday 15:30 UTC: a low-risk referral is due Tuesday 23:30.
    friday_night = datetime(2026, 1, 9, 15, 30, tzinfo=UTC)
    assert acknowledgement_deadline("low", friday_night) == datetime(
        2026, 1, 13, 15, 30, tzinfo=UTC
    )


def test_deadlines_are_configurable(settings):
    settings.REFERRAL_ACK_MINUTES_URGENT = 5
    start = datetime(2026, 1, 8, 2, 0, tzinfo=UTC)
    assert (acknowledgement_deadline("imminent", start) - start).total_seconds() == 300
