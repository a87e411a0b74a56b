"""The operator's API: queue, accept (race-safe), triage with one disposition, wrap-up."""

from datetime import timedelta

import pytest
from django.utils import timezone

from hotline import services
from hotline.models import Call, CallbackTask, OperatorPresence, QueueSurge, Shift, Triage
from hotline.signals import disposition_made
from hotline.triage import derive_risk
from realtime.models import Event
from tests.hotline.conftest import SCREEN_NONE


def _manual(client, **body):
    return client.post(
        "/api/v1/calls/", {"channel": "walk_in", "from_number": "", **body}, format="json"
    )


def test_an_operator_enters_a_walk_in_and_it_queues_like_a_phone_call(client_for, operator):
    response = _manual(client_for(operator), from_number="13900000021", caller_name="李先生")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "queued" and body["channel"] == "walk_in"
    assert body["from_number"] == "+8613900000021"
    assert body["history"]["case"]["stage"] == "discovery"
    assert Event.objects.filter(type="call.queued").count() == 1


def test_a_transfer_from_110_gets_priority_and_bad_input_is_400(client_for, operator):
    client = client_for(operator)
    response = _manual(client, channel="transfer_110")
    assert response.json()["priority_reasons"] == ["transfer_110"]
    bad = _manual(client, channel="twilio_voice")
    assert bad.status_code == 400 and "channel" in bad.json()["fields"]
    bad = _manual(client, from_number="not a number")
    assert bad.status_code == 400 and "from_number" in bad.json()["fields"]
    assert Call.objects.count() == 1


@pytest.mark.parametrize("who", ["counsellor_a", "nurse", "outsider"])
def test_people_outside_the_hotline_are_refused(request, client_for, held_call, who):
    client = client_for(request.getfixturevalue(who))
    assert client.get("/api/v1/calls/").status_code == 403
    assert client.get(f"/api/v1/calls/{held_call.pk}/").status_code == 403
    assert _manual(client).status_code == 403
    assert client.post("/api/v1/calls/next/accept/").status_code == 403
    assert client.get("/api/v1/operators/me/presence/").status_code == 403
    assert client.get("/api/v1/operators/on-duty/").status_code == 403
    assert Call.objects.count() == 1


def test_a_coordinator_reads_calls_but_cannot_take_them(client_for, coordinator, operator):
    services.enter_manual_call(operator, channel="walk_in")
    client = client_for(coordinator)
    assert len(client.get("/api/v1/calls/?view=queue").json()["results"]) == 1
    response = client.post("/api/v1/calls/next/accept/")
    assert response.status_code == 403
    assert Call.objects.get().status == "queued"


def test_the_queue_is_ordered_by_priority_then_waiting_time(client_for, operator, settings):
    settings.HOTLINE_QUEUE_AGING_SECONDS = 30
    first = services.enter_manual_call(operator, channel="walk_in")
    second = services.enter_manual_call(operator, channel="walk_in")
    urgent = services.enter_manual_call(operator, channel="transfer_110")
    # A walk-in that has waited longer than 50 points x 30 s outranks the 110 transfer.
    Call.objects.filter(pk=first.pk).update(
        queued_at=timezone.now() - timedelta(minutes=30),
        rank_at=timezone.now() - timedelta(minutes=30),
    )
    ids = [c["id"] for c in client_for(operator).get("/api/v1/calls/?view=queue").json()["results"]]
    assert ids == [first.pk, urgent.pk, second.pk]
    assert client_for(operator).get("/api/v1/calls/?view=bogus").status_code == 400


def test_a_second_operator_accepting_a_taken_call_gets_409(client_for, operator, operator2):
    call = services.enter_manual_call(operator, channel="walk_in")
    assert client_for(operator).post(f"/api/v1/calls/{call.pk}/accept/").status_code == 200
    response = client_for(operator2).post(f"/api/v1/calls/{call.pk}/accept/")
    assert response.status_code == 409
    assert response.json()["code"] == "call_taken"
    assert "answered by operator" in response.json()["detail"]
    call.refresh_from_db()
    assert call.operator == operator


def test_accept_next_takes_the_head_of_the_queue_and_an_empty_queue_is_404(
    client_for, operator, operator2
):
    a = services.enter_manual_call(operator, channel="walk_in")
    b = services.enter_manual_call(operator, channel="walk_in")
    assert client_for(operator).post("/api/v1/calls/next/accept/").json()["id"] == a.pk
    assert client_for(operator2).post("/api/v1/calls/next/accept/").json()["id"] == b.pk
    response = client_for(operator).post("/api/v1/calls/next/accept/")
    assert response.status_code == 409 and response.json()["code"] == "operator_busy"


def test_a_new_call_is_offered_to_the_longest_idle_available_operator(
    client_for, operator, operator2
):
    client_for(operator2).put("/api/v1/operators/me/presence/", {"status": "available"})
    client_for(operator).put("/api/v1/operators/me/presence/", {"status": "available"})
    call = services.enter_manual_call(operator, channel="walk_in")
    call.refresh_from_db()
    assert call.status == "offered" and call.offered_to == operator2
    offered = Event.objects.get(type="call.offered")
    assert f"user:{operator2.pk}" in offered.audience_rows.values_list("audience", flat=True)
    # While the offer runs, another operator cannot take it.
    response = client_for(operator).post(f"/api/v1/calls/{call.pk}/accept/")
    assert response.status_code == 409 and response.json()["code"] == "call_offered_to_another"
    assert client_for(operator2).post(f"/api/v1/calls/{call.pk}/accept/").status_code == 200


def test_a_lapsed_offer_returns_to_the_queue_and_goes_to_the_next_operator(
    client_for, operator, operator2
):
    client_for(operator2).put("/api/v1/operators/me/presence/", {"status": "available"})
    client_for(operator).put("/api/v1/operators/me/presence/", {"status": "available"})
    call = services.enter_manual_call(operator, channel="walk_in")
    Call.objects.filter(pk=call.pk).update(offer_expires_at=timezone.now() - timedelta(seconds=1))
    client_for(operator).get("/api/v1/calls/?view=queue")
    call.refresh_from_db()
    assert call.offered_to == operator
    # One lapse is a moment away from the desk: still available (tests/hotline/test_presence.py).
    assert OperatorPresence.objects.get(user=operator2).status == "available"
    assert Event.objects.filter(type="call.offer_expired").count() == 1


def test_the_surge_event_goes_to_coordinators_once_per_surge(operator, coordinator, settings):
    settings.HOTLINE_SURGE_QUEUE_LENGTH = 2
    for _ in range(5):
        services.enter_manual_call(operator, channel="walk_in")
    [surge] = Event.objects.filter(type="queue.surge")
    assert surge.data["queue_length"] == 3 and surge.data["threshold"] == 2
    hotline = operator.memberships.get().organisation_id
    assert f"orgrole:{hotline}:coordinator" in surge.audience_rows.values_list(
        "audience", flat=True
    )
    assert QueueSurge.objects.get().peak_length == 5
    for _ in range(3):
        services.accept_call(operator)
        call = Call.objects.get(operator=operator, status="in_progress")
        _triage(operator, call)
        services.wrap_up_call(operator, call)
    assert QueueSurge.objects.get().ended_at is not None
    for _ in range(2):
        services.enter_manual_call(operator, channel="walk_in")
    assert Event.objects.filter(type="queue.surge").count() == 2


def _triage(actor, call, **kw):
    return services.triage_call(
        actor, call, screen=kw.pop("screen", SCREEN_NONE), disposition="resolved", **kw
    )


def _post_triage(client, call, **body):
    return client.post(
        f"/api/v1/calls/{call.pk}/triage/",
        {**SCREEN_NONE, "disposition": "resolved", **body},
        format="json",
    )


def test_a_missing_screen_item_is_400_naming_it_and_nothing_is_written(
    client_for, operator, held_call
):
    before = Event.objects.count()
    body = {**SCREEN_NONE, "active_thoughts": True, "disposition": "resolved"}
    del body["in_danger_now"]
    response = client_for(operator).post(
        f"/api/v1/calls/{held_call.pk}/triage/", body, format="json"
    )
    assert response.status_code == 400
    fields = response.json()["fields"]
    assert set(fields) == {"method_thoughts", "intent", "plan", "in_danger_now"}
    # Named in words (its label), never by its key.
    assert "In danger right now" in response.json()["detail"]
    assert "in_danger_now" not in response.json()["detail"]
    assert Event.objects.count() == before and not Triage.objects.exists()
    held_call.refresh_from_db()
    assert held_call.status == "in_progress"


@pytest.mark.parametrize(
    ("screen", "disposition", "field"),
    [
        ({"in_danger_now": True}, "refer", "disposition"),
        ({"behaviour_3_months": True}, "resolved", "disposition"),
        ({}, "emergency", "override_reason"),
    ],
)
def test_a_disposition_that_does_not_fit_the_risk_is_400(
    client_for, operator, held_call, screen, disposition, field
):
    response = _post_triage(client_for(operator), held_call, disposition=disposition, **screen)
    assert response.status_code == 400, response.json()
    assert field in response.json()["fields"]
    held_call.refresh_from_db()
    assert held_call.status == "in_progress" and not Triage.objects.exists()


def test_lowering_the_risk_needs_a_reason_that_stays_on_the_timeline(
    client_for, operator, held_call
):
    client = client_for(operator)
    response = _post_triage(
        client, held_call, method_thoughts=False, behaviour_ever=True, risk="low"
    )
    assert response.status_code == 400 and "lowered_reason" in response.json()["fields"]
    response = _post_triage(
        client, held_call, behaviour_ever=True, risk="low", lowered_reason="Twenty years ago"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["derived_risk"] == "moderate" and response.json()["risk"] == "low"
    timeline = client.get(f"/api/v1/cases/{held_call.case_id}/timeline/").json()
    triaged = next(e for e in timeline if e["type"] == "call.triaged")
    assert triaged["data"]["lowered_reason"] == "Twenty years ago"


def test_triage_of_a_call_you_do_not_hold_is_refused(client_for, operator2, held_call):
    response = _post_triage(client_for(operator2), held_call)
    assert response.status_code == 403
    assert not Triage.objects.exists()


def test_resolved_moves_the_case_to_intervention_with_a_follow_up(client_for, operator, held_call):
    sent = []
    disposition_made.connect(receiver := lambda **kw: sent.append(kw), weak=False)
    try:
        response = _post_triage(
            client_for(operator),
            held_call,
            wish_to_be_dead=True,
            active_thoughts=True,
            method_thoughts=True,
            intent=False,
            plan=False,
            protective_factors=["family support"],
        )
    finally:
        disposition_made.disconnect(receiver)
    assert response.status_code == 200, response.json()
    held_call.refresh_from_db()
    case = held_call.case
    assert held_call.status == "wrap_up" and case.stage == "intervention"
    assert case.risk == "moderate" and "Follow-up" in case.next_step and case.next_step_due
    [kw] = sent
    assert kw["disposition"] == "resolved" and kw["call"] == held_call
    assert set(kw["summary"]) == {
        "risk",
        "derived_risk",
        "screen",
        "protective_factors",
        "notes",
        "caller_relation",
        "consent",
        "consent_override_reason",
        "contact_phone",
        "location",
        "override_reason",
    }
    assert kw["summary"]["contact_phone"] == "+8613900000077"
    assert OperatorPresence.objects.get(user=operator).status == "wrap_up"


def test_a_receiver_that_fails_rolls_the_whole_triage_back(operator, held_call):
    def boom(**kw):
        raise RuntimeError("dispatch failed")

    disposition_made.connect(boom, weak=False)
    try:
        with pytest.raises(RuntimeError):
            services.triage_call(
                operator,
                held_call,
                screen={**SCREEN_NONE, "in_danger_now": True},
                disposition="emergency",
                location="月河街12号",  # so the real dispatch receiver succeeds and boom decides
            )
    finally:
        disposition_made.disconnect(boom)
    held_call.refresh_from_db()
    assert held_call.status == "in_progress" and held_call.case.stage == "discovery"
    assert not Triage.objects.exists()


def test_refer_and_emergency_set_the_next_step(client_for, operator, held_call):
    response = _post_triage(
        client_for(operator),
        held_call,
        in_danger_now=True,
        disposition="emergency",
        location="月河街12号",
    )
    assert response.status_code == 200, response.json()
    held_call.refresh_from_db()
    assert held_call.case.risk == "imminent" and "Emergency" in held_call.case.next_step


def test_wrap_up_completes_the_call_and_the_operator_is_available_again(
    client_for, operator, held_call
):
    client = client_for(operator)
    response = client.post(f"/api/v1/calls/{held_call.pk}/wrap-up/", {}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "triage_first"
    _post_triage(client, held_call)
    response = client.post(f"/api/v1/calls/{held_call.pk}/wrap-up/", {"notes": "ok"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "completed"
    assert response.json()["wrap_up_seconds"] is not None
    assert client.get("/api/v1/operators/me/presence/").json()["status"] == "available"
    types = list(Event.objects.filter(case=held_call.case).values_list("type", flat=True))
    for t in ("call.queued", "call.accepted", "call.triaged", "call.completed"):
        assert t in types
    mine = client.get("/api/v1/calls/?view=mine").json()["results"]
    assert [c["id"] for c in mine] == [held_call.pk]
    assert mine[0]["triage"]["disposition"] == "resolved"


def test_the_detail_shows_previous_calls_and_their_outcomes(client_for, operator, held_call):
    client = client_for(operator)
    _post_triage(client, held_call)
    services.wrap_up_call(operator, held_call)
    again = services.enter_manual_call(operator, channel="walk_in", from_number="+8613900000077")
    detail = client.get(f"/api/v1/calls/{again.pk}/").json()
    assert detail["person"] == held_call.person_id
    assert detail["history"]["case"]["stage"] == "intervention"
    [previous] = detail["history"]["previous_calls"]
    assert previous["id"] == held_call.pk and previous["triage"]["disposition"] == "resolved"


def test_presence_can_be_set_but_not_to_on_call(client_for, operator):
    client = client_for(operator)
    assert client.get("/api/v1/operators/me/presence/").json()["status"] == "offline"
    response = client.put("/api/v1/operators/me/presence/", {"status": "on_call"}, format="json")
    assert response.status_code == 400
    response = client.put("/api/v1/operators/me/presence/", {"status": "break"}, format="json")
    assert response.json()["status"] == "break"
    assert Event.objects.get(type="operator.presence_changed").data["status"] == "break"


def test_the_roster_shows_who_is_on_duty_now(client_for, operator, operator2, coordinator, network):
    now = timezone.now()
    Shift.objects.create(
        hotline=network["hotline"],
        user=operator,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=7),
    )
    Shift.objects.create(
        hotline=network["hotline"],
        user=operator2,
        starts_at=now + timedelta(hours=7),
        ends_at=now + timedelta(hours=15),
    )
    [roster] = client_for(coordinator).get("/api/v1/operators/on-duty/").json()
    assert roster["covered"] is True
    assert [d["operator"] for d in roster["on_duty"]] == [operator.pk]


def test_the_voice_token_is_a_short_lived_jwt_for_the_operator(
    client_for, operator, twilio, settings
):
    import jwt

    client = client_for(operator)
    assert client.post("/api/v1/operators/me/voice-token/").status_code == 409
    settings.TWILIO_API_KEY_SID = "SK" + "1" * 32
    settings.TWILIO_API_KEY_SECRET = "s" * 32
    body = client.post("/api/v1/operators/me/voice-token/").json()
    claims = jwt.decode(body["token"], "s" * 32, algorithms=["HS256"])
    assert claims["grants"]["identity"] == f"operator-{operator.pk}"
    assert claims["grants"]["voice"]["incoming"]["allow"] is True
    assert claims["exp"] - claims["nbf"] == 600


def test_an_accepted_callback_stays_open_until_its_outcome(
    network, operator, hotline_case, twilio, client
):
    from tests.twilio_recorder import sign

    services.set_risk(operator, hotline_case, "high")
    params = {"CallSid": "CA" + "e" * 32, "From": str(hotline_case.person.phone)}
    url = "http://testserver/twilio/voice/incoming/"
    client.post(
        "/twilio/voice/incoming/", params, HTTP_X_TWILIO_SIGNATURE=sign(url, params, twilio.token)
    )
    services.call_status_changed(None, call_sid=params["CallSid"], twilio_status="canceled")
    call = services.accept_call(operator)
    assert call.channel == "callback"
    assert CallbackTask.objects.get().status == "open"  # closed by the attempt's outcome
    [create] = twilio.http.to(r"/Calls\.json$")
    assert create.data["To"] == str(hotline_case.person.phone)


def test_derive_risk_follows_the_documented_rule():
    assert derive_risk(SCREEN_NONE) == "none"
    assert derive_risk({**SCREEN_NONE, "wish_to_be_dead": True}) == "low"
    assert (
        derive_risk({**SCREEN_NONE, "active_thoughts": True, "method_thoughts": True}) == "moderate"
    )
    assert derive_risk({**SCREEN_NONE, "behaviour_ever": True}) == "moderate"
    assert derive_risk({**SCREEN_NONE, "intent": True}) == "high"
    assert derive_risk({**SCREEN_NONE, "harm_to_others": True}) == "high"
    assert derive_risk({**SCREEN_NONE, "intent": True, "plan": True}) == "imminent"
    assert derive_risk({**SCREEN_NONE, "plan": True, "behaviour_3_months": True}) == "imminent"
    assert derive_risk({**SCREEN_NONE, "in_danger_now": True}) == "imminent"


def test_an_emergency_with_no_place_known_still_sends_help_with_a_warning(
    client_for, operator, held_call
):
    from escalation.models import Dispatch

    response = _post_triage(
        client_for(operator), held_call, in_danger_now=True, disposition="emergency"
    )
    assert response.status_code < 300, response.json()
    held_call.refresh_from_db()
    assert held_call.status == "wrap_up" and Triage.objects.count() == 1
    dispatch = Dispatch.objects.get(case=held_call.case)
    assert dispatch.warnings == ["location_unknown"]


def test_housekeeping_counts_a_queue_that_no_new_call_counted(operator, coordinator, settings):
    from escalation.sources import housekeeping

    settings.HOTLINE_SURGE_QUEUE_LENGTH = 10
    for _ in range(4):
        services.enter_manual_call(operator, channel="walk_in")
    assert not QueueSurge.objects.exists()
    # A lower threshold (a changed setting) and no call since: the worker's count finds it.
    settings.HOTLINE_SURGE_QUEUE_LENGTH = 2
    housekeeping(timezone.now())
    [surge] = Event.objects.filter(type="queue.surge")
    assert surge.data["queue_length"] == 4
    assert QueueSurge.objects.get().peak_length == 4
