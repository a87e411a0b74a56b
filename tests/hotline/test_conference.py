"""Every hotline call is a conference: the exact TwiML and REST requests of answering, holding,
hanging up, and the conference's status callbacks."""

import pytest

from hotline.conference_models import ConferenceParticipant
from hotline.models import Call
from realtime.models import Event

BASE = "http://127.0.0.1:8000"
ACCOUNT = "https://api.twilio.com/2010-04-01/Accounts/" + "AC" + "0" * 32
CALLER_SID = "CA" + "5" * 32
CONF_SID = "CF" + "1" * 32

EVENTS = ["start", "end", "join", "leave", "mute", "hold"]


def caller_twiml(call):
    return (
        '<?xml version="1.0" encoding="UTF-8"?><Response><Dial><Conference beep="false" '
        'endConferenceOnExit="true" startConferenceOnEnter="false" '
        f'statusCallback="{BASE}/twilio/voice/conference/" '
        'statusCallbackEvent="start end join leave mute hold" statusCallbackMethod="POST" '
        f'waitMethod="POST" waitUrl="{BASE}/twilio/voice/hold/">hotline-call-{call.pk}'
        "</Conference></Dial></Response>"
    )


def participant_params(to, label):
    return {
        "From": "+865722251885",
        "To": to,
        "Label": label,
        "EarlyMedia": "true",
        "Beep": "false",
        "StartConferenceOnEnter": "true",
        "EndConferenceOnExit": "false",
        "ConferenceStatusCallback": f"{BASE}/twilio/voice/conference/",
        "ConferenceStatusCallbackEvent": EVENTS,
        "ConferenceStatusCallbackMethod": "POST",
    }


@pytest.fixture
def conference_event(twilio, client):
    def send(call, event, call_sid="", **extra):
        params = {
            "FriendlyName": f"hotline-call-{call.pk}",
            "ConferenceSid": CONF_SID,
            "StatusCallbackEvent": event,
            **({"CallSid": call_sid} if call_sid else {}),
            **extra,
        }
        return twilio.post(client, "/twilio/voice/conference/", params)

    return send


@pytest.fixture
def live_call(network, incoming, twilio, operator, client_for, conference_event):
    """A Twilio call accepted by ``operator``, both legs joined; the recorder emptied."""
    incoming(CALLER_SID)
    call = Call.objects.get(call_sid=CALLER_SID)
    assert client_for(operator).post(f"/api/v1/calls/{call.pk}/accept/").status_code == 200
    operator_leg = call.participants.get(role="operator")
    assert conference_event(call, "conference-start").status_code == 204
    assert conference_event(call, "participant-join", CALLER_SID).status_code == 204
    assert conference_event(call, "participant-join", operator_leg.call_sid).status_code == 204
    twilio.http.requests.clear()
    call.refresh_from_db()
    return call


def test_answering_moves_the_caller_into_a_conference_and_rings_the_operator_into_it(
    network, incoming, twilio, operator, client_for
):
    incoming(CALLER_SID)
    call = Call.objects.get()
    response = client_for(operator).post(f"/api/v1/calls/{call.pk}/accept/")
    assert response.status_code == 200, response.json()
    update, create = twilio.http.requests
    assert (update.method, update.url) == ("POST", f"{ACCOUNT}/Calls/{CALLER_SID}.json")
    assert update.data == {"Twiml": caller_twiml(call)}
    assert (create.method, create.url) == (
        "POST",
        f"{ACCOUNT}/Conferences/hotline-call-{call.pk}/Participants.json",
    )
    operator_leg = call.participants.get(role="operator")
    assert create.data == participant_params(
        f"client:operator-{operator.pk}", f"operator-{operator_leg.pk}"
    )
    caller_leg = call.participants.get(role="caller")
    assert caller_leg.call_sid == CALLER_SID and caller_leg.status == "dialling"
    assert operator_leg.call_sid.startswith("CA") and operator_leg.user == operator


def test_the_conference_callbacks_record_who_joined_and_the_conference_sid(live_call, operator):
    assert live_call.conference_sid == CONF_SID
    legs = {leg.role: leg for leg in live_call.participants.all()}
    assert legs["caller"].status == legs["operator"].status == "joined"
    assert legs["caller"].joined_at is not None


def test_hold_and_resume_update_the_callers_leg_with_the_hold_music(
    live_call, twilio, operator, client_for
):
    api = client_for(operator)
    response = api.post(f"/api/v1/calls/{live_call.pk}/hold/", {"on": True}, format="json")
    assert response.status_code == 200, response.json()
    caller = next(p for p in response.json()["conference"]["participants"] if p["role"] == "caller")
    assert caller["on_hold"] is True
    [held] = twilio.http.requests
    assert (held.method, held.url) == (
        "POST",
        f"{ACCOUNT}/Conferences/{CONF_SID}/Participants/{CALLER_SID}.json",
    )
    assert held.data == {
        "Hold": "true",
        "HoldUrl": f"{BASE}/twilio/voice/hold/",
        "HoldMethod": "POST",
    }
    # Holding again is the wrong state: 409, nothing sent.
    again = api.post(f"/api/v1/calls/{live_call.pk}/hold/", {"on": True}, format="json")
    assert again.status_code == 409 and len(twilio.http.requests) == 1
    response = api.post(f"/api/v1/calls/{live_call.pk}/hold/", {"on": False}, format="json")
    assert response.status_code == 200
    resumed = twilio.http.requests[-1]
    assert resumed.url == f"{ACCOUNT}/Conferences/{CONF_SID}/Participants/{CALLER_SID}.json"
    assert resumed.data == {"Hold": "false"}
    assert list(
        Event.objects.filter(type__in=["call.held", "call.resumed"]).values_list("type", flat=True)
    ) == ["call.held", "call.resumed"]


def test_the_hold_music_is_signed_chinese_twiml(network, twilio, client):
    response = twilio.post(client, "/twilio/voice/hold/", {})
    assert response.status_code == 200
    assert response.content.decode() == (
        '<?xml version="1.0" encoding="UTF-8"?><Response>'
        '<Say language="zh-CN">请不要挂机，接线员马上回来。</Say>'
        "<Play>http://com.twilio.music.classical.s3.amazonaws.com/BusyStrings.mp3</Play>"
        "</Response>"
    )
    assert twilio.post(client, "/twilio/voice/hold/", {}, signature="x").status_code == 403


def test_hanging_up_ends_the_conference_for_everyone(live_call, twilio, operator, client_for):
    response = client_for(operator).post(f"/api/v1/calls/{live_call.pk}/hang-up/")
    assert response.status_code == 200, response.json()
    [request] = twilio.http.requests
    assert (request.method, request.url) == ("POST", f"{ACCOUNT}/Conferences/{CONF_SID}.json")
    assert request.data == {"Status": "completed"}
    live_call.refresh_from_db()
    assert live_call.ended_at is not None and live_call.status == "in_progress"
    assert not live_call.participants.exclude(status="left").exists()
    again = client_for(operator).post(f"/api/v1/calls/{live_call.pk}/hang-up/")
    assert again.status_code == 409


def test_the_caller_leaving_ends_the_call_and_triage_then_wrap_up_follow(
    live_call, conference_event, operator
):
    assert conference_event(live_call, "participant-leave", CALLER_SID).status_code == 204
    live_call.refresh_from_db()
    assert live_call.ended_at is not None
    assert Event.objects.filter(type="call.ended", data__call=live_call.pk).count() == 1
    # A repeated delivery and the conference's end change nothing twice.
    conference_event(live_call, "participant-leave", CALLER_SID)
    conference_event(live_call, "conference-end")
    assert Event.objects.filter(type="call.ended", data__call=live_call.pk).count() == 1
    assert not live_call.participants.exclude(status="left").exists()


def test_the_operator_leaving_alone_ends_the_conference(live_call, conference_event, twilio):
    leg = live_call.participants.get(role="operator")
    assert conference_event(live_call, "participant-leave", leg.call_sid).status_code == 204
    [request] = twilio.http.requests
    assert request.url == f"{ACCOUNT}/Conferences/{CONF_SID}.json"
    assert request.data == {"Status": "completed"}


def test_an_unknown_conference_is_404_and_a_bad_body_400(network, twilio, client):
    params = {"FriendlyName": "hotline-call-999", "StatusCallbackEvent": "conference-start"}
    assert twilio.post(client, "/twilio/voice/conference/", params).status_code == 404
    assert twilio.post(client, "/twilio/voice/conference/", {"X": "1"}).status_code == 400
    assert (
        twilio.post(client, "/twilio/voice/conference/", params, signature="bad").status_code == 403
    )
    assert ConferenceParticipant.objects.count() == 0


def test_hold_is_refused_to_others_and_bad_bodies(
    live_call, operator, operator2, counsellor_a, responder, coordinator, client_for, twilio
):
    url = f"/api/v1/calls/{live_call.pk}/hold/"
    assert client_for(operator2).post(url, {"on": True}, format="json").status_code == 403
    assert client_for(coordinator).post(url, {"on": True}, format="json").status_code == 403
    assert client_for(counsellor_a).post(url, {"on": True}, format="json").status_code == 404
    assert client_for(responder).post(url, {"on": True}, format="json").status_code == 404
    assert client_for(operator).post(url, {"on": "perhaps"}, format="json").status_code == 400
    assert client_for(operator).post(url, {}, format="json").status_code == 400
    assert twilio.http.requests == []
    assert not live_call.participants.filter(on_hold=True).exists()


def test_without_a_twilio_account_the_legs_are_recorded_and_hold_works(
    held_call, operator, client_for
):
    # A walk-in is no Twilio call: no conference; hold is the wrong state.
    response = client_for(operator).post(
        f"/api/v1/calls/{held_call.pk}/hold/", {"on": True}, format="json"
    )
    assert response.status_code == 409


@pytest.fixture
def counsellor_on_duty(network, counsellor_a):
    from datetime import timedelta

    from django.utils import timezone

    from hotline.models import Shift

    now = timezone.now()
    Shift.objects.create(
        hotline=network["centre_a"],
        user=counsellor_a,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=3),
    )
    return counsellor_a


def test_warm_transfer_to_the_counsellor_on_duty_consult_then_complete(
    live_call, twilio, operator, counsellor_on_duty, client_for, conference_event
):
    from hotline import selectors

    api, receiver = client_for(operator), client_for(counsellor_on_duty)
    assert not selectors.visible_cases(counsellor_on_duty).filter(pk=live_call.case_id).exists()
    response = api.post(
        f"/api/v1/calls/{live_call.pk}/transfer/",
        {"mode": "warm", "target": "counsellor", "reason": "需要心理咨询"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    # The caller is held; the counsellor is offered the case (a personal, time-limited read).
    [held] = twilio.http.requests
    assert held.url == f"{ACCOUNT}/Conferences/{CONF_SID}/Participants/{CALLER_SID}.json"
    assert held.data == {
        "Hold": "true",
        "HoldUrl": f"{BASE}/twilio/voice/hold/",
        "HoldMethod": "POST",
    }
    leg = live_call.participants.get(role="transfer_target")
    assert leg.user == counsellor_on_duty and leg.status == "offered"
    assert leg.grant.user == counsellor_on_duty and leg.grant.ends_at is not None
    assert selectors.visible_cases(counsellor_on_duty).filter(pk=live_call.case_id).exists()
    offered = Event.objects.get(type="call.transfer_offered")
    assert f"user:{counsellor_on_duty.pk}" in offered.audience_rows.values_list(
        "audience", flat=True
    )
    assert offered.data["reason"] == "需要心理咨询" and offered.data["risk"] == live_call.case.risk
    # Completing before the receiver joined is the wrong state.
    assert api.post(f"/api/v1/calls/{live_call.pk}/transfer/complete/").status_code == 409
    # The receiver joins: their phone is rung into the conference.
    joined = receiver.post(f"/api/v1/calls/{live_call.pk}/transfer/join/")
    assert joined.status_code == 200, joined.json()
    dial = twilio.http.requests[-1]
    assert dial.url == f"{ACCOUNT}/Conferences/{CONF_SID}/Participants.json"
    assert dial.data == participant_params(
        f"client:operator-{counsellor_on_duty.pk}", f"transfer_target-{leg.pk}"
    )
    leg.refresh_from_db()
    assert leg.status == "dialling"
    conference_event(live_call, "participant-join", leg.call_sid)
    leg.refresh_from_db()
    assert leg.status == "joined"
    twilio.http.requests.clear()
    done = api.post(f"/api/v1/calls/{live_call.pk}/transfer/complete/")
    assert done.status_code == 200, done.json()
    operator_leg = live_call.participants.get(user=operator)
    resume, leave = twilio.http.requests
    assert resume.url == f"{ACCOUNT}/Conferences/{CONF_SID}/Participants/{CALLER_SID}.json"
    assert resume.data == {"Hold": "false"}
    assert (leave.method, leave.url) == (
        "DELETE",
        f"{ACCOUNT}/Conferences/{CONF_SID}/Participants/{operator_leg.call_sid}.json",
    )
    live_call.refresh_from_db()
    # The counsellor talks on; the operator who took the call keeps it to record its triage.
    assert live_call.operator == operator and live_call.status == "in_progress"
    assert operator_leg.status == "left"
    leg.refresh_from_db()
    assert leg.role == "operator" and leg.status == "joined"
    operator.hotline_presence.refresh_from_db()
    assert operator.hotline_presence.status == "on_call"
    # The counsellor hanging up later leaves the caller alone: the conference is ended.
    twilio.http.requests.clear()
    conference_event(live_call, "participant-leave", leg.call_sid)
    (end,) = twilio.http.requests
    assert (end.url, end.data) == (
        f"{ACCOUNT}/Conferences/{CONF_SID}.json",
        {"Status": "completed"},
    )
    assert Event.objects.filter(type="call.transfer_completed", case=live_call.case).exists()


def test_warm_transfer_cancelled_removes_the_receiver_and_their_read(
    live_call, twilio, operator, operator2, client_for, conference_event
):
    from hotline import services

    services.set_presence(operator2, status="available")
    api = client_for(operator)
    response = api.post(
        f"/api/v1/calls/{live_call.pk}/transfer/",
        {"mode": "warm", "target": "operator", "user": operator2.pk},
        format="json",
    )
    assert response.status_code == 200, response.json()
    client_for(operator2).post(f"/api/v1/calls/{live_call.pk}/transfer/join/")
    leg = live_call.participants.get(role="transfer_target")
    assert leg.grant is None  # the hotline already holds the case
    twilio.http.requests.clear()
    response = api.post(f"/api/v1/calls/{live_call.pk}/transfer/cancel/")
    assert response.status_code == 200, response.json()
    remove, resume = twilio.http.requests
    assert (remove.method, remove.url) == (
        "DELETE",
        f"{ACCOUNT}/Conferences/{CONF_SID}/Participants/{leg.call_sid}.json",
    )
    assert resume.data == {"Hold": "false"}
    leg.refresh_from_db()
    live_call.refresh_from_db()
    assert leg.status == "left" and live_call.operator == operator
    assert api.post(f"/api/v1/calls/{live_call.pk}/transfer/cancel/").status_code == 409


def test_cold_transfer_to_an_outside_number_rings_it_and_the_operator_leaves(
    live_call, twilio, operator, client_for
):
    response = client_for(operator).post(
        f"/api/v1/calls/{live_call.pk}/transfer/",
        {"mode": "cold", "target": "number", "number": "+8613800000123"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    leg = live_call.participants.get(target="+8613800000123")
    operator_leg = live_call.participants.get(user=operator)
    held, dial, leave = twilio.http.requests
    assert held.data["Hold"] == "true"
    assert dial.url == f"{ACCOUNT}/Conferences/{CONF_SID}/Participants.json"
    assert dial.data == participant_params("+8613800000123", f"transfer_target-{leg.pk}")
    assert (leave.method, leave.url) == (
        "DELETE",
        f"{ACCOUNT}/Conferences/{CONF_SID}/Participants/{operator_leg.call_sid}.json",
    )
    leg.refresh_from_db()
    assert leg.role == "outside" and leg.transfer_mode == "cold"


def test_transfer_refusals(
    live_call, twilio, operator, operator2, counsellor_a, responder, client_for
):
    url = f"/api/v1/calls/{live_call.pk}/transfer/"
    api = client_for(operator)
    body = {"mode": "warm", "target": "counsellor"}
    assert client_for(operator2).post(url, body, format="json").status_code == 403
    assert client_for(counsellor_a).post(url, body, format="json").status_code == 404
    assert client_for(responder).post(url, body, format="json").status_code == 404
    assert (
        api.post(url, {"mode": "lukewarm", "target": "counsellor"}, format="json").status_code
        == 400
    )
    assert api.post(url, {"mode": "warm", "target": "number"}, format="json").status_code == 400
    bad_number = {"mode": "warm", "target": "number", "number": "12"}
    assert api.post(url, bad_number, format="json").status_code == 400
    # Nobody on duty: 409 in words.
    nobody = api.post(url, body, format="json")
    assert nobody.status_code == 409 and "on duty" in nobody.json()["detail"]
    # An operator who is not available.
    busy = api.post(
        url, {"mode": "warm", "target": "operator", "user": operator2.pk}, format="json"
    )
    assert busy.status_code == 409
    assert twilio.http.requests == []
    assert not live_call.participants.filter(role="transfer_target").exists()
    # Joining a transfer not offered to you.
    assert client_for(operator2).post(f"{url}join/").status_code == 404
