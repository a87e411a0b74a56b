"""Referral actions through the API: who may act, clear 4xx errors, nothing written on refusal."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from hotline.models import Case
from realtime.models import Event
from referrals.models import Appointment, Referral
from referrals.selectors import overdue_referrals


def url(referral, action=""):
    return f"/api/v1/referrals/{referral.pk}/" + (f"{action}/" if action else "")


def test_the_receiving_centre_sees_it_and_another_centre_does_not(
    client_for, referral, counsellor_a, counsellor_b, outsider, operator
):
    listed = client_for(counsellor_a).get("/api/v1/referrals/?direction=incoming").json()
    assert [r["id"] for r in listed["results"]] == [referral.pk]
    assert listed["results"][0]["is_overdue"] is False
    outgoing = client_for(operator).get("/api/v1/referrals/?direction=outgoing").json()
    assert [r["id"] for r in outgoing["results"]] == [referral.pk]
    for user in (counsellor_b, outsider):
        assert client_for(user).get("/api/v1/referrals/").json()["results"] == []
        assert client_for(user).get(url(referral)).status_code == 404
        assert client_for(user).post(url(referral, "acknowledge")).status_code == 404


def test_reading_a_referred_case_from_the_centre_is_audited(client_for, referral, counsellor_a):
    assert client_for(counsellor_a).get(url(referral)).status_code == 200
    read = Event.objects.get(type="case.read")
    assert read.data["what"] == "referral.retrieve"
    assert read.data["user"] == counsellor_a.pk
    assert read.data["cases"] == [referral.case_id]
    assert list(read.audience_rows.values_list("audience", flat=True)) == ["audit"]


def test_acknowledging_once_wins_and_twice_is_a_409(
    client_for, referral, counsellor_a, counsellor_a2
):
    response = client_for(counsellor_a).post(url(referral, "acknowledge"))
    assert response.status_code == 200, response.json()
    assert response.json()["state"] == "acknowledged"
    before = Event.objects.count()
    second = client_for(counsellor_a2).post(url(referral, "acknowledge"))
    assert second.status_code == 409
    assert second.json()["code"] == "already_acknowledged"
    assert "counsellor_a" in second.json()["detail"]
    assert Event.objects.count() == before


def test_the_sender_cannot_act_as_the_receiver(client_for, referral, operator):
    response = client_for(operator).post(url(referral, "acknowledge"))
    assert response.status_code == 403
    assert response.json()["detail"] == "This referral was not sent to your organisation."
    referral.refresh_from_db()
    assert referral.state == "sent"


def test_declining_needs_a_reason_and_tells_the_sender_to_act(
    client_for, network, referral, counsellor_a, operator
):
    client = client_for(counsellor_a)
    response = client.post(url(referral, "decline"), {}, format="json")
    assert response.status_code == 400
    assert "reason" in response.json()["fields"]
    response = client.post(url(referral, "decline"), {"reason": "本中心本周满员"}, format="json")
    assert response.status_code == 200
    assert response.json()["state"] == "declined"
    event = Event.objects.get(type="referral.declined")
    audiences = set(event.audience_rows.values_list("audience", flat=True))
    assert {f"orgrole:{network['hotline'].pk}:operator", f"user:{operator.pk}"} <= audiences
    case = Case.objects.get(pk=referral.case_id)
    assert "本中心本周满员" in case.next_step
    assert case.owner == operator
    assert case.next_step_due is not None


def test_an_illegal_transition_is_a_409_and_writes_nothing(
    client_for, referral, counsellor_a, slot_for
):
    slot = slot_for(counsellor_a)
    before = Event.objects.count()
    response = client_for(counsellor_a).post(
        url(referral, "schedule"), {"slot": slot.pk}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "illegal_transition"
    assert not Appointment.objects.exists()
    assert Event.objects.count() == before
    response = client_for(counsellor_a).post(url(referral, "complete"), {"outcome": "x"})
    assert response.status_code == 409


def test_pre_assessment_then_scheduling_into_a_slot(client_for, referral, counsellor_a, slot_for):
    client = client_for(counsellor_a)
    client.post(url(referral, "acknowledge"))
    response = client.post(
        url(referral, "pre-assess"),
        {
            "risk": "high",
            "presenting_problem": "学业压力，自伤念头",
            "history": "无既往就诊",
            "recommendation": "counselling",
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    slot = slot_for(counsellor_a)
    response = client.post(url(referral, "schedule"), {"slot": slot.pk}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["starts_at"] is not None
    referral.refresh_from_db()
    assert referral.state == "scheduled"
    assert Case.objects.get(pk=referral.case_id).risk == "high"
    types = list(Event.objects.values_list("type", flat=True))
    assert "referral.pre_assessed" in types and "appointment.booked" in types
    # Booking the same referral again is refused: it is already scheduled.
    again = client.post(url(referral, "schedule"), {"slot": slot_for(counsellor_a, 48).pk})
    assert again.status_code == 409


def test_scheduling_outside_the_counsellors_slots_is_a_400(
    client_for, referral, counsellor_a, slot_for
):
    client = client_for(counsellor_a)
    client.post(url(referral, "acknowledge"))
    slot = slot_for(counsellor_a, 24)
    response = client.post(
        url(referral, "schedule"),
        {
            "counsellor": counsellor_a.pk,
            "starts_at": (slot.ends_at + timedelta(hours=1)).isoformat(),
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "outside_slots"
    referral.refresh_from_db()
    assert referral.state == "acknowledged"
    inside = client.post(
        url(referral, "schedule"),
        {
            "counsellor": counsellor_a.pk,
            "starts_at": (slot.starts_at + timedelta(minutes=10)).isoformat(),
        },
        format="json",
    )
    assert inside.status_code == 201
    assert inside.json()["slot"] == slot.pk


def test_a_slot_cannot_be_booked_twice(
    client_for, network, operator, referral, counsellor_a, centre_coordinator, slot_for
):
    from hotline import services as hotline_services

    slot = slot_for(counsellor_a)
    client = client_for(counsellor_a)
    client.post(url(referral, "acknowledge"))
    assert client.post(url(referral, "schedule"), {"slot": slot.pk}).status_code == 201
    # A walk-in booked on the appointment line 2259885 for another person, same slot.
    person = hotline_services.create_person(centre_coordinator, name="来访者")
    case = hotline_services.open_case(
        centre_coordinator, person=person, owning_organisation=network["centre_a"]
    )
    response = client_for(centre_coordinator).post(
        "/api/v1/appointments/", {"case": case.pk, "slot": slot.pk}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "slot_taken"
    assert Appointment.objects.count() == 1


def test_the_database_itself_refuses_a_double_booking(referral, counsellor_a, slot_for):
    slot = slot_for(counsellor_a)
    Appointment.objects.create(
        slot=slot, case=referral.case, organisation=slot.organisation, channel="referral"
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Appointment.objects.create(
            slot=slot, case=referral.case, organisation=slot.organisation, channel="referral"
        )


def test_overdue_referrals_are_flagged_for_the_coordinator(
    client_for, referral, coordinator, counsellor_a
):
    later = referral.ack_due_at + timedelta(seconds=1)
    assert list(overdue_referrals(later)) == [referral]
    assert list(overdue_referrals(referral.ack_due_at - timedelta(seconds=1))) == []
    Referral.objects.filter(pk=referral.pk).update(ack_due_at=timezone.now() - timedelta(minutes=1))
    listed = client_for(coordinator).get("/api/v1/referrals/?overdue=1").json()["results"]
    assert [r["id"] for r in listed] == [referral.pk]
    assert listed[0]["is_overdue"] is True
    client_for(counsellor_a).post(url(referral, "acknowledge"))
    assert client_for(coordinator).get("/api/v1/referrals/?overdue=1").json()["results"] == []
    assert list(overdue_referrals(timezone.now())) == []


def test_the_sender_revokes_and_the_centre_loses_access(
    client_for, network, referral, operator, counsellor_a
):
    assert (
        client_for(counsellor_a).post(url(referral, "revoke"), {"reason": "x"}).status_code == 403
    )
    response = client_for(operator).post(url(referral, "revoke"), {"reason": "来电者撤回同意"})
    assert response.status_code == 200
    assert response.json()["state"] == "revoked"
    assert client_for(counsellor_a).get(f"/api/v1/cases/{referral.case_id}/").status_code == 404


def test_a_case_with_an_open_referral_cannot_close(client_for, referral, coordinator):
    response = client_for(coordinator).post(
        f"/api/v1/cases/{referral.case_id}/close/", {"reason": "done"}, format="json"
    )
    assert response.status_code == 409
    assert f"referral #{referral.pk}" in response.json()["detail"]
    assert Case.objects.get(pk=referral.case_id).stage != "closed"


def test_creating_a_referral_through_the_api_validates_the_receiver(
    client_for, network, operator, hotline_case
):
    client = client_for(operator)
    response = client.post(
        "/api/v1/referrals/",
        {
            "case": hotline_case.pk,
            "kind": "counselling",
            "receiver": network["hospital"].pk,
            "consent": True,
        },
        format="json",
    )
    assert response.status_code == 400
    assert "receiver" in response.json()["fields"]
    response = client.post(
        "/api/v1/referrals/",
        {"case": hotline_case.pk, "kind": "counselling", "consent": True, "reason": "面谈"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["receiver"] == network["centre_a"].pk
    again = client.post(
        "/api/v1/referrals/",
        {"case": hotline_case.pk, "kind": "counselling", "consent": True},
        format="json",
    )
    assert again.status_code == 409
    assert Referral.objects.count() == 1
