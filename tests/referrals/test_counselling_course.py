"""Counselling as a course (咨询疗程): sessions stay on their referral, "continue" books the next
one, "completed" completes the referral once and starts one follow-up plan."""

from datetime import timedelta

from django.test import Client
from django.utils import timezone

from clinics.models import CounsellingSession, FollowUp
from hotline.models import Case
from realtime.models import Event
from referrals.models import Appointment, Referral


def first_visit(client, referral, slot):
    r = f"/api/v1/referrals/{referral.pk}/"
    assert client.post(r + "acknowledge/").status_code == 200
    booked = client.post(r + "schedule/", {"slot": slot.pk}, format="json")
    assert booked.status_code == 201, booked.json()
    return booked.json()["id"]


def session(client, appointment, outcome, **extra):
    return client.post(
        "/api/v1/sessions/",
        {
            "appointment": appointment,
            "notes": f"第{appointment}次面谈",
            "outcome": outcome,
            **extra,
        },
        format="json",
    )


def test_three_sessions_continue_continue_completed_make_one_course_and_one_plan(
    client_for, referral, counsellor_a, slot_for
):
    client = client_for(counsellor_a)
    appointment = first_visit(client, referral, slot_for(counsellor_a, 24))
    for hours in (48, 72):
        answer = session(
            client, appointment, "continue", next_slot=slot_for(counsellor_a, hours).pk
        )
        assert answer.status_code == 201, answer.json()
        assert answer.json()["referral"] == referral.pk
        appointment = answer.json()["next_appointment"]
        assert Appointment.objects.get(pk=appointment).referral_id == referral.pk
        assert Referral.objects.get(pk=referral.pk).state == "attended"
        assert not FollowUp.objects.filter(case=referral.case).exists()
    done = session(client, appointment, "completed")
    assert done.status_code == 201, done.json()
    assert done.json()["next_appointment"] is None

    course = Appointment.objects.filter(referral=referral).order_by("slot__starts_at")
    assert [a.status for a in course] == ["attended"] * 3
    assert CounsellingSession.objects.filter(appointment__referral=referral).count() == 3
    assert Referral.objects.get(pk=referral.pk).state == "completed"
    assert Case.objects.get(pk=referral.case_id).stage == "follow_up"
    assert FollowUp.objects.filter(case=referral.case).count() == 3
    assert Event.objects.filter(case=referral.case, type="referral.completed").count() == 1
    assert Event.objects.filter(case=referral.case, type="follow_up.scheduled").count() == 3
    # The loop closed into follow-up once: completing the referral again is refused.
    again = client.post(f"/api/v1/referrals/{referral.pk}/complete/", {"outcome": "再次结束"})
    assert again.status_code == 409
    assert FollowUp.objects.filter(case=referral.case).count() == 3


def test_continue_needs_the_next_session_and_changes_nothing_without_it(
    client_for, referral, counsellor_a, slot_for
):
    client = client_for(counsellor_a)
    appointment = first_visit(client, referral, slot_for(counsellor_a, 24))
    answer = session(client, appointment, "continue")
    assert answer.status_code == 400
    assert "next_slot" in answer.json()["fields"]
    assert Appointment.objects.get(pk=appointment).status == "booked"
    assert not CounsellingSession.objects.exists()
    assert Referral.objects.get(pk=referral.pk).state == "scheduled"


def test_a_taken_next_slot_is_a_conflict_and_the_session_is_not_recorded(
    client_for, referral, counsellor_a, slot_for, hotline_case
):
    client = client_for(counsellor_a)
    appointment = first_visit(client, referral, slot_for(counsellor_a, 24))
    taken = slot_for(counsellor_a, 48)
    assert (
        client.post(
            "/api/v1/appointments/", {"case": hotline_case.pk, "slot": taken.pk}, format="json"
        ).status_code
        == 201
    )
    answer = session(client, appointment, "continue", next_slot=taken.pk)
    assert answer.status_code == 409
    assert Appointment.objects.get(pk=appointment).status == "booked"
    assert not CounsellingSession.objects.exists()


def test_booking_through_the_appointments_api_keeps_the_referral(
    client_for, referral, counsellor_a, counsellor_b, slot_for, network, operator
):
    client = client_for(counsellor_a)
    appointment = first_visit(client, referral, slot_for(counsellor_a, 24))
    assert session(client, appointment, "continue", next_slot=slot_for(counsellor_a, 48).pk)
    assert Appointment.objects.filter(referral=referral, status="booked").count() == 1
    # One next session at a time on a referral.
    twice = client.post(
        "/api/v1/appointments/",
        {"case": referral.case_id, "referral": referral.pk, "slot": slot_for(counsellor_a, 96).pk},
        format="json",
    )
    assert twice.status_code == 409
    assert twice.json()["code"] == "already_booked"
    # Another centre may not book on this referral.
    other = client_for(counsellor_b).post(
        "/api/v1/appointments/",
        {"case": referral.case_id, "referral": referral.pk, "slot": slot_for(counsellor_b, 96).pk},
        format="json",
    )
    assert other.status_code in (403, 404)
    assert Appointment.objects.filter(referral=referral).count() == 2


def test_a_booking_without_the_referral_joins_the_course_under_way(
    client_for, referral, counsellor_a, slot_for
):
    client = client_for(counsellor_a)
    appointment = first_visit(client, referral, slot_for(counsellor_a, 24))
    # "Green channel" keeps the course open without booking; the next visit is booked later.
    assert session(client, appointment, "green_channel").status_code == 201
    booked = client.post(
        "/api/v1/appointments/",
        {"case": referral.case_id, "slot": slot_for(counsellor_a, 48).pk},
        format="json",
    )
    assert booked.status_code == 201, booked.json()
    assert booked.json()["referral"] == referral.pk
    done = session(client, booked.json()["id"], "completed")
    assert done.status_code == 201, done.json()
    assert Referral.objects.get(pk=referral.pk).state == "completed"
    assert FollowUp.objects.filter(case=referral.case).count() == 3


def test_completing_the_referral_cancels_the_booked_next_session(
    client_for, referral, counsellor_a, slot_for
):
    client = client_for(counsellor_a)
    appointment = first_visit(client, referral, slot_for(counsellor_a, 24))
    answer = session(client, appointment, "continue", next_slot=slot_for(counsellor_a, 48).pk)
    following = answer.json()["next_appointment"]
    done = client.post(f"/api/v1/referrals/{referral.pk}/complete/", {"outcome": "来访者结束咨询"})
    assert done.status_code == 200, done.json()
    assert Appointment.objects.get(pk=following).status == "cancelled"
    assert Event.objects.filter(type="appointment.cancelled", data__appointment=following).exists()
    assert FollowUp.objects.filter(case=referral.case).count() == 3


def test_the_counselling_page_records_continue_with_the_next_slot_and_shows_the_course(
    client_for, referral, counsellor_a, slot_for
):
    first = first_visit(client_for(counsellor_a), referral, slot_for(counsellor_a, 24))
    next_slot = slot_for(counsellor_a, 48)
    page = Client()
    page.force_login(counsellor_a)
    refused = page.post(
        f"/care/appointments/{first}/session/",
        {"notes": "面谈", "outcome": "continue"},
        follow=True,
    )
    assert "请选择下次咨询的时间。" in refused.content.decode()  # the page speaks Chinese
    assert Appointment.objects.get(pk=first).status == "booked"
    recorded = page.post(
        f"/care/appointments/{first}/session/",
        {"notes": "面谈", "outcome": "continue", "next_slot": next_slot.pk},
    )
    assert recorded.status_code == 302
    following = Appointment.objects.get(slot=next_slot)
    assert following.referral_id == referral.pk
    html = page.get("/care/counselling/").content.decode()
    assert f'data-appointment="{following.pk}"' in html
    assert "第1次咨询" in html and "继续咨询" in html


def test_a_counsellor_adds_a_slot_without_naming_themselves(counsellor_a):
    """``counsellor`` is optional on ``POST /slots/`` (the schema says so): it is the caller."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(counsellor_a)
    start = timezone.now().replace(microsecond=0) + timedelta(days=3)
    body = {"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat()}
    made = client.post("/api/v1/slots/", body, format="json")
    assert made.status_code == 201, made.content
    assert made.json()["counsellor"] == counsellor_a.pk
    again = client.post("/api/v1/slots/", body, format="json")
    assert again.status_code == 409
