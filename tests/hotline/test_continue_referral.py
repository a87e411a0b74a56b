"""继续现有转介: a person already in care calls again; the call joins their open referral."""

from datetime import timedelta

import pytest

from core.errors import Conflict, Invalid
from hotline import services
from realtime.models import Event
from referrals.models import Referral
from tests.hotline.conftest import SCREEN_NONE

pytestmark = pytest.mark.django_db

MODERATE = {**SCREEN_NONE, "wish_to_be_dead": True, "active_thoughts": True,
            "method_thoughts": True, "intent": False, "plan": False}  # fmt: skip
HIGH = {**MODERATE, "intent": True}


def _call(operator, case):
    services.set_presence(operator, status="available")
    call = services.enter_manual_call(
        operator, channel="walk_in", from_number=str(case.person.phone), person=case.person
    )
    return services.accept_call(operator, call)


def _wrap(operator, call):
    services.wrap_up_call(operator, call)


def test_a_rise_in_risk_raises_the_urgency_restarts_the_clock_and_tells_the_receiver(
    network, operator, hotline_case
):
    first = _call(operator, hotline_case)
    services.triage_call(operator, first, screen=MODERATE, disposition="refer")
    _wrap(operator, first)
    referral = Referral.objects.get()
    assert referral.urgency == "moderate"
    second = _call(operator, hotline_case)
    # The honest dispositions are refused with words that point to the new one.
    with pytest.raises(Conflict) as refer:
        services.triage_call(operator, second, screen=HIGH, disposition="refer")
    assert refer.value.code == "duplicate_referral" and "continue" in str(refer.value)
    with pytest.raises(Invalid) as resolved:
        services.triage_call(operator, second, screen=HIGH, disposition="resolved")
    assert "continue the existing referral" in str(resolved.value)
    triage = services.triage_call(operator, second, screen=HIGH, disposition="continue_referral")
    assert triage.risk == "high"  # not lowered
    referral.refresh_from_db()
    assert referral.urgency == "high" and referral.state == "sent"
    assert referral.ack_due_at <= triage.created_at + timedelta(minutes=30)
    [added] = referral.snapshot["continued_calls"]
    assert added["call"] == second.pk and added["risk"] == "high" and added["screen"]["intent"]
    event = Event.objects.get(type="referral.continued")
    assert event.data["urgency_raised"] and event.data["ack_clock_restarted"]
    receiver_staff = f"orgrole:{referral.receiver_id}:counsellor"
    assert receiver_staff in event.audience_rows.values_list("audience", flat=True)
    assert Referral.objects.count() == 1


def test_same_risk_keeps_the_urgency_and_the_clock(network, operator, hotline_case):
    first = _call(operator, hotline_case)
    services.triage_call(operator, first, screen=MODERATE, disposition="refer")
    _wrap(operator, first)
    before = Referral.objects.get()
    second = _call(operator, hotline_case)
    services.triage_call(operator, second, screen=MODERATE, disposition="continue_referral")
    after = Referral.objects.get()
    assert after.urgency == "moderate" and after.ack_due_at == before.ack_due_at
    assert not Event.objects.get(type="referral.continued").data["urgency_raised"]


def test_without_an_open_referral_it_is_refused_and_nothing_changes(
    network, operator, hotline_case
):
    call = _call(operator, hotline_case)
    with pytest.raises(Invalid) as refused:
        services.triage_call(operator, call, screen=MODERATE, disposition="continue_referral")
    assert refused.value.code == "no_open_referral"
    call.refresh_from_db()
    assert call.status == "in_progress" and not call.case.triages.exists()


def test_imminent_risk_still_needs_the_emergency(network, operator, hotline_case):
    call = _call(operator, hotline_case)
    imminent = {**HIGH, "plan": True}
    with pytest.raises(Invalid):
        services.triage_call(operator, call, screen=imminent, disposition="continue_referral")
