"""One person through the whole loop, through the public API, checking what each role sees.

The hotline part (calls and triage are built in parallel) is simulated by ``hotline.services``
and the ``disposition_made`` signal inside a transaction, exactly as triage sends it.
"""

from datetime import timedelta

from django.utils import timezone

from hotline.models import Case
from realtime.models import Event
from realtime.selectors import events_visible_to
from tests.referrals.conftest import refer


def ids(response):
    body = response.json()
    assert response.status_code == 200, body
    return [r["id"] for r in body["results"]]


def test_one_person_goes_round_the_whole_loop(
    client_for,
    care_network,
    operator,
    counsellor_a,
    counsellor_b,
    nurse,
    coordinator,
    outsider,
    hotline_case,
    slot_for,
):
    net = care_network
    counsellor, hospital, coord = (
        client_for(counsellor_a),
        client_for(nurse),
        client_for(coordinator),
    )

    # 1. Hotline: the operator triages and chooses "refer"; the centre gets it at once.
    referral = refer(operator, hotline_case)
    assert ids(counsellor.get("/api/v1/referrals/?direction=incoming")) == [referral.pk]
    assert any(e.type == "referral.sent" for e in events_visible_to(counsellor_a))
    assert not any(e.type == "referral.sent" for e in events_visible_to(counsellor_b))
    assert ids(hospital.get("/api/v1/referrals/")) == []
    assert ids(client_for(counsellor_b).get("/api/v1/cases/")) == []

    # 2. The counsellor acknowledges, pre-assesses and books the first visit.
    r = f"/api/v1/referrals/{referral.pk}/"
    assert counsellor.post(r + "acknowledge/").status_code == 200
    assert (
        counsellor.post(
            r + "pre-assess/",
            {"risk": "high", "presenting_problem": "自伤念头", "recommendation": "counselling"},
            format="json",
        ).status_code
        == 200
    )
    slot = slot_for(counsellor_a)
    booked = counsellor.post(r + "schedule/", {"slot": slot.pk}, format="json")
    assert booked.status_code == 201
    appointment = booked.json()["id"]
    assert ids(counsellor.get("/api/v1/appointments/")) == [appointment]
    assert ids(client_for(counsellor_b).get("/api/v1/appointments/")) == []

    # 3. The session: the counsellor decides on a green-channel transfer.
    session = counsellor.post(
        "/api/v1/sessions/",
        {"appointment": appointment, "notes": "评估后需住院治疗", "outcome": "green_channel"},
        format="json",
    )
    assert session.status_code == 201, session.json()
    case = Case.objects.get(pk=hotline_case.pk)
    assert case.stage == "treatment"

    # 4. Green channel: booked straight into the youth ward; no slot free, so over capacity.
    transfer = counsellor.post(
        "/api/v1/referrals/",
        {
            "case": case.pk,
            "kind": "green_channel",
            "receiver": net["hospital"].pk,
            "service": "youth_ward",
            "consent": True,
            "reason": "青少年病房绿色通道",
            "parent": referral.pk,
        },
        format="json",
    )
    assert transfer.status_code == 201, transfer.json()
    transfer = transfer.json()
    assert transfer["sender"] == net["centre_a"].pk
    assert transfer["green_channel"]["over_capacity"] is True
    assert transfer["state"] == "sent"
    assert ids(hospital.get("/api/v1/referrals/")) == [transfer["id"]]
    # The counselling referral is completed now the transfer is made; the loop waits for the
    # hospital (no follow-ups from the centre while the transfer is open).
    assert counsellor.post(r + "complete/", {"outcome": "转诊住院"}).status_code == 200
    assert Case.objects.get(pk=case.pk).stage == "treatment"
    assert counsellor.get("/api/v1/follow-ups/").json()["results"] == []

    # 5. Hospital: accept, admit to a bed, discharge with a follow-up plan.
    t = f"/api/v1/referrals/{transfer['id']}/"
    assert hospital.post(t + "acknowledge/").status_code == 200
    admitted = hospital.post(
        "/api/v1/admissions/",
        {"referral": transfer["id"], "ward": "青少年病区", "bed": "12"},
        format="json",
    )
    assert admitted.status_code == 201, admitted.json()
    assert Case.objects.get(pk=case.pk).stage == "treatment"
    assert ids(counsellor.get("/api/v1/admissions/")) == []
    discharged = hospital.post(
        f"/api/v1/admissions/{admitted.json()['id']}/discharge/",
        {"summary": "病情稳定", "follow_up_plan": "门诊复诊，每月一次"},
        format="json",
    )
    assert discharged.status_code == 200, discharged.json()
    case.refresh_from_db()
    assert case.stage == "follow_up"

    # 6. Follow-ups: the hospital's (discharge) and the centre's (completed counselling).
    mine = hospital.get("/api/v1/follow-ups/").json()["results"]
    assert [f["sequence"] for f in mine] == [1, 2, 3]
    assert {f["reason"] for f in mine} == {"discharge"}
    assert all(f["organisation"] == net["hospital"].pk for f in mine)
    closing = coord.post(f"/api/v1/cases/{case.pk}/close/", {"reason": "闭环"}, format="json")
    assert closing.status_code == 409
    assert "follow-up" in closing.json()["detail"]
    for client in (hospital, counsellor):
        for f in client.get("/api/v1/follow-ups/?state=scheduled").json()["results"]:
            done = client.post(
                f"/api/v1/follow-ups/{f['id']}/attempts/",
                {"outcome": "reached", "notes": "情况良好"},
                format="json",
            )
            assert done.status_code == 200, done.json()
            assert done.json()["state"] == "done"
    assert ids(client_for(outsider).get("/api/v1/follow-ups/")) == []

    # 7. Closure: a coordinator of the hotline centre closes the loop.
    closed = coord.post(
        f"/api/v1/cases/{case.pk}/close/", {"reason": "闭环管理完成"}, format="json"
    )
    assert closed.status_code == 200, closed.json()
    assert closed.json()["stage"] == "closed"
    stages = [
        e.data["to"]
        for e in Event.objects.filter(case=case, type="case.stage_changed").order_by("id")
    ]
    assert stages == ["intervention", "treatment", "follow_up"]
    types = set(Event.objects.filter(case=case).values_list("type", flat=True))
    assert {
        "referral.sent",
        "referral.acknowledged",
        "referral.pre_assessed",
        "referral.scheduled",
        "appointment.booked",
        "appointment.attended",
        "referral.attended",
        "green_channel.booked",
        "referral.completed",
        "admission.admitted",
        "admission.discharged",
        "follow_up.scheduled",
        "follow_up.attempted",
        "case.closed",
    } <= types
    assert timezone.now() - case.opened_at < timedelta(minutes=5)
