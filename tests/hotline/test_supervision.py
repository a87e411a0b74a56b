"""督导: a coordinator of the call's hotline listens (muted), whispers (coach) or barges into the
live call's conference, switches between them and leaves; the exact REST requests Twilio gets,
the case timeline, and the refusal for every other role."""

import pytest

from hotline import services
from hotline.conference import conference_name
from hotline.models import Call
from hotline.services.conference import conference_event
from realtime.models import Event

CALLER_SID = "CA" + "5" * 32
OPERATOR_SID = "CA" + "6" * 32
SUPERVISOR_SID = "CA" + "8" * 32
CONFERENCE_SID = "CF" + "1" * 32


@pytest.fixture
def live_call(twilio, incoming, operator, coordinator):
    """A Twilio call accepted by ``operator``: the caller and the operator in its conference."""
    coordinator.desk_phone = "+865722000099"
    coordinator.save()
    assert incoming(CALLER_SID).status_code == 200
    call = Call.objects.get(call_sid=CALLER_SID)
    twilio.http.responses += [
        (200, {"sid": CALLER_SID, "status": "in-progress"}),  # the caller moved to the conference
        (201, {"call_sid": OPERATOR_SID, "conference_sid": CONFERENCE_SID}),  # the operator rung
    ]
    services.accept_call(operator, call)
    conference_event(
        None, name=conference_name(call), conference_sid=CONFERENCE_SID, event="conference-start"
    )
    twilio.http.requests.clear()
    return Call.objects.get(pk=call.pk)


def _supervise(client, call, mode):
    return client.post(f"/api/v1/calls/{call.pk}/supervise/", {"mode": mode}, format="json")


def _end(client, call):
    return client.post(f"/api/v1/calls/{call.pk}/supervise/end/", {}, format="json")


PARTICIPANT = f"/Conferences/{CONFERENCE_SID}/Participants/{SUPERVISOR_SID}.json"


def test_listen_then_whisper_then_barge_then_end(client_for, coordinator, live_call, twilio):
    client = client_for(coordinator)
    twilio.http.responses.append((201, {"call_sid": SUPERVISOR_SID}))
    response = _supervise(client, live_call, "listen")
    assert response.status_code == 200, response.json()
    [dialled] = twilio.http.requests
    assert dialled.method == "POST"
    assert dialled.url.endswith(f"/Conferences/{CONFERENCE_SID}/Participants.json")
    assert dialled.data["To"] == "+865722000099"
    assert dialled.data["From"] == "+865722251885"
    assert dialled.data["Muted"] == "true"
    assert "Coaching" not in dialled.data
    legs = response.json()["conference"]["participants"]
    mine = [p for p in legs if p["role"] == "supervisor"]
    assert mine and mine[0]["muted"] is True and mine[0]["user"] == coordinator.pk

    twilio.http.requests.clear()
    assert _supervise(client, live_call, "whisper").status_code == 200
    [whisper] = twilio.http.requests
    assert whisper.method == "POST" and whisper.url.endswith(PARTICIPANT)
    assert whisper.data == {
        "Muted": "false",
        "Coaching": "true",
        "CallSidToCoach": OPERATOR_SID,
    }

    twilio.http.requests.clear()
    assert _supervise(client, live_call, "barge").status_code == 200
    [barge] = twilio.http.requests
    assert barge.data == {"Muted": "false", "Coaching": "false"}

    twilio.http.requests.clear()
    assert _supervise(client, live_call, "barge").status_code == 200  # the same mode: nothing
    assert twilio.http.requests == []

    response = _end(client, live_call)
    assert response.status_code == 200
    [removed] = twilio.http.requests
    assert removed.method == "DELETE" and removed.url.endswith(PARTICIPANT)
    legs = response.json()["conference"]["participants"]
    assert [p["status"] for p in legs if p["role"] == "supervisor"] == ["left"]
    assert _end(client, live_call).status_code == 409  # nothing left to end

    timeline = Event.objects.filter(case=live_call.case, type__startswith="call.supervision")
    assert [(e.type, e.data["mode"]) for e in timeline.order_by("id")] == [
        ("call.supervision_started", "listen"),
        ("call.supervision_changed", "whisper"),
        ("call.supervision_changed", "barge"),
        ("call.supervision_ended", "barge"),
    ]
    assert all(e.actor_id == coordinator.pk for e in timeline)


def test_whispering_first_dials_the_coordinator_in_as_the_operators_coach(
    client_for, coordinator, live_call, twilio
):
    twilio.http.responses.append((201, {"call_sid": SUPERVISOR_SID}))
    assert _supervise(client_for(coordinator), live_call, "whisper").status_code == 200
    [dialled] = twilio.http.requests
    assert dialled.data["Coaching"] == "true"
    assert dialled.data["CallSidToCoach"] == OPERATOR_SID
    assert "Muted" not in dialled.data


def test_bad_mode_is_400_and_a_call_no_longer_live_is_409(
    client_for, coordinator, live_call, twilio
):
    client = client_for(coordinator)
    response = _supervise(client, live_call, "shout")
    assert response.status_code == 400 and "mode" in response.json()["fields"]
    Call.objects.filter(pk=live_call.pk).update(status="wrap_up")
    response = _supervise(client, live_call, "listen")
    assert response.status_code == 409 and response.json()["code"] == "call_not_live"
    assert twilio.http.requests == []
    assert not Event.objects.filter(type__startswith="call.supervision").exists()


def test_every_other_role_is_refused(
    client_for,
    operator,
    operator2,
    counsellor_a,
    nurse,
    responder,
    decision_maker,
    administrator,
    outsider,
    live_call,
    twilio,
):
    for user in (
        operator,
        operator2,
        counsellor_a,
        nurse,
        responder,
        decision_maker,
        administrator,
        outsider,
    ):
        client = client_for(user)
        for mode in ("listen", "whisper", "barge"):
            assert _supervise(client, live_call, mode).status_code in (403, 404), (user, mode)
        assert _end(client, live_call).status_code in (403, 404), user
    assert twilio.http.requests == []
    assert not Event.objects.filter(type__startswith="call.supervision").exists()
