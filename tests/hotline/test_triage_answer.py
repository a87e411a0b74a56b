"""Triage answers with what its disposition created: the referral, the dispatch, the follow-ups."""

from datetime import datetime

from clinics.models import FollowUp
from escalation.models import Dispatch
from hotline import services
from referrals.models import Referral
from tests.hotline.conftest import SCREEN_NONE

MODERATE = {**SCREEN_NONE, "behaviour_ever": True}
HIGH = {**SCREEN_NONE, "harm_to_others": True}
IMMINENT = {**SCREEN_NONE, "in_danger_now": True}


def _triage(client, call, screen, disposition):
    response = client.post(
        f"/api/v1/calls/{call.pk}/triage/",
        {**screen, "disposition": disposition, "location": "月河街12号"},
        format="json",
    )
    assert response.status_code == 200, response.content
    return response.json()


def test_refer_names_the_referral_it_sent(client_for, operator, held_call, network):
    body = _triage(client_for(operator), held_call, HIGH, "refer")
    referral = Referral.objects.get(case=held_call.case)
    assert body["referral"]["id"] == referral.pk
    assert body["referral"]["receiver"] == referral.receiver_id == network["centre_a"].pk
    assert body["referral"]["state"] == "sent"
    assert body["dispatch"] is None


def test_emergency_names_the_dispatch(client_for, operator, held_call):
    body = _triage(client_for(operator), held_call, IMMINENT, "emergency")
    dispatch = Dispatch.objects.get(case=held_call.case)
    assert body["dispatch"] == {"id": dispatch.pk, "status": "open"}
    assert body["referral"] is None


def test_emergency_after_the_one_key_names_the_dispatch_already_running(
    client_for, operator, held_call
):
    from escalation.services import create_dispatch

    case = held_call.case
    running = create_dispatch(operator, case, address="月河街12号")
    body = _triage(client_for(operator), held_call, IMMINENT, "emergency")
    assert body["dispatch"]["id"] == running.pk
    assert Dispatch.objects.filter(case=case).count() == 1


def test_resolved_moderate_names_its_follow_ups(client_for, operator, held_call):
    body = _triage(client_for(operator), held_call, MODERATE, "resolved")
    planned = FollowUp.objects.filter(case=held_call.case).order_by("due_at")
    assert planned.exists()
    assert [f["id"] for f in body["follow_ups"]] == [f.pk for f in planned]
    due = datetime.fromisoformat(body["follow_ups"][0]["due_at"])
    assert due == planned[0].due_at
    assert body["referral"] is None and body["dispatch"] is None


def test_resolved_without_risk_creates_nothing_and_says_so(client_for, operator, held_call):
    body = _triage(client_for(operator), held_call, SCREEN_NONE, "resolved")
    assert body["referral"] is None and body["dispatch"] is None and body["follow_ups"] == []
    assert not FollowUp.objects.filter(case=held_call.case).exists()


def test_the_service_returns_the_objects_too(operator, held_call, network):
    triage = services.triage_call(operator, held_call, screen=HIGH, disposition="refer")
    assert [type(o) for o in triage.created] == [Referral]
