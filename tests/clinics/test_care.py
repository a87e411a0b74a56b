"""Follow-ups, no-shows, hospital transfers, assistance plans and break-glass reads."""

from datetime import timedelta

from django.utils import timezone

from clinics import selectors, services
from clinics.models import FollowUp
from hotline.models import Case, CaseAccess
from realtime.models import Event
from referrals import services as referral_services
from referrals.models import HospitalSlot


def audiences(event):
    return set(event.audience_rows.values_list("audience", flat=True))


def test_a_no_show_schedules_follow_ups_for_the_centre(
    client_for, network, referral, counsellor_a, slot_for
):
    client = client_for(counsellor_a)
    client.post(f"/api/v1/referrals/{referral.pk}/acknowledge/")
    client.post(f"/api/v1/referrals/{referral.pk}/schedule/", {"slot": slot_for(counsellor_a).pk})
    response = client.post(f"/api/v1/referrals/{referral.pk}/no-show/")
    assert response.status_code == 200, response.json()
    assert response.json()["state"] == "no_show"
    follow_ups = FollowUp.objects.filter(case=referral.case).order_by("sequence")
    assert [f.reason for f in follow_ups] == ["no_show"] * 3
    assert {f.organisation_id for f in follow_ups} == {network["centre_a"].pk}
    assert referral.appointments.get().status == "no_show"
    # The centre may book again after a missed visit.
    again = client.post(
        f"/api/v1/referrals/{referral.pk}/schedule/", {"slot": slot_for(counsellor_a, 48).pk}
    )
    assert again.status_code == 201


def test_three_failed_attempts_mark_the_case_lost_and_tell_the_hotline_coordinators(
    client_for, network, operator, coordinator, hotline_case, counsellor_a
):
    follow_ups = services.schedule_follow_ups(
        operator, hotline_case, reason="resolved_call", organisation=network["hotline"]
    )
    first = follow_ups[0]
    client = client_for(operator)
    for n in range(1, 4):
        response = client.post(
            f"/api/v1/follow-ups/{first.pk}/attempts/", {"outcome": "no_answer"}, format="json"
        )
        assert response.status_code == 200, response.json()
        assert response.json()["failed_attempts"] == n
    assert response.json()["state"] == "lost"
    assert len(response.json()["attempts"]) == 3
    assert {f.state for f in FollowUp.objects.exclude(pk=first.pk)} == {"cancelled"}
    lost = Event.objects.get(type="follow_up.lost")
    assert f"orgrole:{network['hotline'].pk}:coordinator" in audiences(lost)
    case = Case.objects.get(pk=hotline_case.pk)
    assert "Lost to follow-up" in case.next_step
    # Finished: a fourth attempt is refused and writes nothing.
    before = Event.objects.count()
    again = client.post(f"/api/v1/follow-ups/{first.pk}/attempts/", {"outcome": "reached"})
    assert again.status_code == 409
    assert Event.objects.count() == before
    # The centre (not holding this follow-up) cannot see or record attempts.
    assert client_for(counsellor_a).get(f"/api/v1/follow-ups/{first.pk}/").status_code == 404


def test_overdue_follow_ups_for_the_escalation_worker(network, operator, hotline_case):
    start = timezone.now() - timedelta(days=3)
    services.schedule_follow_ups(
        operator, hotline_case, reason="manual", organisation=network["hotline"], start=start
    )
    overdue = list(selectors.overdue_follow_ups(timezone.now()))
    assert [f.sequence for f in overdue] == [1]
    assert len(list(selectors.overdue_follow_ups(timezone.now() + timedelta(days=40)))) == 3


def test_green_channel_books_a_free_slot_and_never_waitlists(
    client_for, network, referral, counsellor_a, nurse
):
    start = timezone.now() + timedelta(days=1)
    slot = referral_services.create_hospital_slot(
        nurse,
        hospital=network["hospital"],
        service="self_harm_clinic",
        starts_at=start,
        ends_at=start + timedelta(hours=3),
        capacity=1,
    )
    client_for(counsellor_a).post(f"/api/v1/referrals/{referral.pk}/acknowledge/")
    body = {
        "case": referral.case_id,
        "kind": "green_channel",
        "receiver": network["hospital"].pk,
        "service": "self_harm_clinic",
        "consent": True,
    }
    first = client_for(counsellor_a).post("/api/v1/referrals/", body, format="json")
    assert first.status_code == 201, first.json()
    assert first.json()["green_channel"]["slot"] == slot.pk
    assert first.json()["green_channel"]["over_capacity"] is False
    booked = Event.objects.get(type="green_channel.booked")
    assert f"orgrole:{network['hospital'].pk}:hospital_staff" in audiences(booked)
    assert HospitalSlot.objects.get(pk=slot.pk).bookings.count() == 1


def test_green_channel_needs_a_service_and_comes_from_a_counselling_centre(
    client_for, network, referral, operator, counsellor_a
):
    client_for(counsellor_a).post(f"/api/v1/referrals/{referral.pk}/acknowledge/")
    body = {"case": referral.case_id, "kind": "green_channel", "consent": True}
    body["receiver"] = network["hospital"].pk
    assert client_for(counsellor_a).post("/api/v1/referrals/", body).status_code == 400
    body["service"] = "youth_ward"
    assert client_for(operator).post("/api/v1/referrals/", body).status_code in (400, 403)


def test_the_hospital_refers_on_to_the_consortium_hospital_of_the_district(
    client_for, care_network, operator, hotline_case, nurse
):
    net = care_network
    CaseAccess.objects.create(case=hotline_case, organisation=net["hospital"], reason="referral")
    response = client_for(nurse).post(
        "/api/v1/referrals/",
        {"case": hotline_case.pk, "kind": "consortium", "consent": True, "reason": "就近康复"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["receiver"] == net["consortium_wx"].pk  # the person lives in 吴兴区


def _transfer(counsellor, network, case):
    return referral_services.send_referral(
        counsellor,
        case,
        kind="green_channel",
        receiver=network["hospital"],
        service="youth_ward",
        consent=True,
    )


def test_a_bed_holds_one_patient(client_for, network, referral, counsellor_a, nurse, operator):
    from hotline import services as hotline_services
    from tests.referrals.conftest import refer

    hospital = client_for(nurse)
    transfer = _transfer(counsellor_a, network, referral.case)
    body = {"referral": transfer.pk, "ward": "青少年病区", "bed": "3"}
    not_accepted = hospital.post("/api/v1/admissions/", body)
    assert not_accepted.status_code == 409  # accept the transfer first
    hospital.post(f"/api/v1/referrals/{transfer.pk}/acknowledge/")
    assert client_for(counsellor_a).post("/api/v1/admissions/", body).status_code == 403
    assert hospital.post("/api/v1/admissions/", body).status_code == 201
    person = hotline_services.create_person(operator, name="小吴")
    other = hotline_services.open_case(
        operator, person=person, owning_organisation=network["hotline"], risk="high"
    )
    other_transfer = _transfer(counsellor_a, network, refer(operator, other).case)
    hospital.post(f"/api/v1/referrals/{other_transfer.pk}/acknowledge/")
    taken = hospital.post("/api/v1/admissions/", {**body, "referral": other_transfer.pk})
    assert taken.status_code == 409
    assert taken.json()["code"] == "bed_taken"
    assert other_transfer.admissions.count() == 0
    other_transfer.refresh_from_db()
    assert other_transfer.state == "acknowledged"  # the failed admission wrote nothing


def test_an_assistance_plan_with_measures_and_overdue_check_ins(
    client_for, care_network, operator, counsellor_a, hotline_case, outsider
):
    client = client_for(operator)
    due = timezone.now() - timedelta(hours=1)
    response = client.post(
        "/api/v1/plans/",
        {
            "case": hotline_case.pk,
            "care_group": care_network["care_group"].pk,
            "goal": "稳定学业与家庭支持",
            "members": [counsellor_a.pk],
            "measures": [
                {
                    "kind": "school_liaison",
                    "description": "与班主任沟通",
                    "owner": counsellor_a.pk,
                    "next_check_in": due.isoformat(),
                },
                {"kind": "subsidy", "description": "困难补助", "owner": operator.pk},
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    plan = response.json()
    assert Case.objects.get(pk=hotline_case.pk).stage == "assistance"
    overdue = list(selectors.overdue_check_ins(timezone.now()))
    assert [m.kind for m in overdue] == ["school_liaison"]
    measure = next(m for m in plan["measures"] if m["kind"] == "school_liaison")
    assert measure["is_overdue"] is True
    checked = client_for(counsellor_a).post(
        f"/api/v1/plans/{plan['id']}/check-in/",
        {
            "measure": measure["id"],
            "note": "已与班主任面谈",
            "next_check_in": (timezone.now() + timedelta(days=7)).isoformat(),
        },
        format="json",
    )
    assert checked.status_code == 200, checked.json()
    assert list(selectors.overdue_check_ins(timezone.now())) == []
    assert client_for(outsider).get(f"/api/v1/plans/{plan['id']}/").status_code == 404
    bad = client.post(
        "/api/v1/plans/",
        {"case": hotline_case.pk, "care_group": care_network["hospital"].pk, "goal": "x"},
        format="json",
    )
    assert bad.status_code == 400
    assert {"plan.created", "plan.measure_added", "plan.checked_in"} <= set(
        Event.objects.values_list("type", flat=True)
    )


def test_break_glass_grants_temporary_audited_access(
    client_for, network, coordinator, counsellor_b, hotline_case, administrator
):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from directory.models import Membership

    Membership.objects.create(
        user=counsellor_b, organisation=network["centre_b"], role="coordinator"
    )
    TOTPDevice.objects.create(user=counsellor_b, name="app", confirmed=True)  # two-step on
    client = client_for(counsellor_b)
    assert client.get(f"/api/v1/cases/{hotline_case.pk}/").status_code == 404
    refused = client.post("/api/v1/break-glass/", {"case": hotline_case.pk, "reason": ""})
    assert refused.status_code == 400
    response = client.post(
        "/api/v1/break-glass/", {"case": hotline_case.pk, "reason": "来电者失联，需查联系人"}
    )
    assert response.status_code == 201, response.json()
    assert client.get(f"/api/v1/cases/{hotline_case.pk}/").status_code == 200
    event = Event.objects.get(type="case.break_glass")
    assert {"all", f"orgrole:{network['hotline'].pk}:coordinator"} <= audiences(event)
    assert Event.objects.filter(type="case.read", data__what="break_glass").exists()
    assert services.expire_break_glass(timezone.now() + timedelta(days=2)) == 1
    assert client.get(f"/api/v1/cases/{hotline_case.pk}/").status_code == 404


def test_only_a_coordinator_may_break_the_glass(client_for, counsellor_b, hotline_case):
    response = client_for(counsellor_b).post(
        "/api/v1/break-glass/", {"case": hotline_case.pk, "reason": "想看看"}
    )
    assert response.status_code == 403
    assert not CaseAccess.objects.exists()
