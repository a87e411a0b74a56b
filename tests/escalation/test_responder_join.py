"""处置力量接入通话: from the dispatch panel 110, 120 or the expert are dialled into the live
call's own conference as responders; on the case's timeline; refused when the call has ended."""

from escalation import services
from hotline.models import Call
from realtime.models import Event
from tests.hotline.conftest import incoming as incoming  # the fixtures, shared
from tests.hotline.test_supervision import live_call as live_call

RESPONDER_SID = "CA" + "9" * 32


def _dispatch(operator, call, network):
    return services.create_dispatch(
        operator, call.case, call=call, address="月河社区3幢", region=network["village"]
    )


def test_110_joins_the_calls_conference_as_a_responder(
    client_for, operator, live_call, responders, network, twilio
):
    dispatch = _dispatch(operator, live_call, network)
    twilio.http.requests.clear()
    twilio.http.responses.append((201, {"call_sid": RESPONDER_SID}))
    response = client_for(operator).post(
        f"/api/v1/dispatches/{dispatch.pk}/conference/", {"service": "110"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json() == {"participants": [RESPONDER_SID]}
    dialled = twilio.http.to(r"/Participants\.json$")
    assert len(dialled) == 1
    assert dialled[0].url.endswith(f"/Conferences/{live_call.conference_sid}/Participants.json")
    assert dialled[0].data["To"] == "+865722110110"
    assert dialled[0].data["EarlyMedia"] == "true"
    # The caller stays in their own conference: no call is moved anywhere.
    assert not twilio.http.to(r"/Calls/CA\w+\.json$")
    leg = live_call.participants.get(role="responder")
    assert leg.call_sid == RESPONDER_SID and leg.target == "+865722110110"
    event = Event.objects.get(type="call.responder_joined")
    assert event.case_id == live_call.case_id
    assert event.data["service"] == "110" and event.data["dispatch"] == dispatch.pk


def test_the_expert_on_duty_is_dialled_on_their_own_phone(
    client_for, operator, live_call, responders, network, twilio
):
    dispatch = _dispatch(operator, live_call, network)
    twilio.http.requests.clear()
    response = client_for(operator).post(
        f"/api/v1/dispatches/{dispatch.pk}/conference/", {"service": "expert"}, format="json"
    )
    assert response.status_code == 200, response.json()
    [dialled] = twilio.http.to(r"/Participants\.json$")
    assert dialled.data["To"] == "+8613900000014"


def test_a_call_that_ended_and_a_role_outside_the_dispatch_are_refused(
    client_for, operator, live_call, responders, network, twilio
):
    dispatch = _dispatch(operator, live_call, network)
    denied = client_for(responders["community_worker"]).post(
        f"/api/v1/dispatches/{dispatch.pk}/conference/", {"service": "120"}, format="json"
    )
    assert denied.status_code in (403, 404)
    Call.objects.filter(pk=live_call.pk).update(status="wrap_up")
    twilio.http.requests.clear()
    ended = client_for(operator).post(
        f"/api/v1/dispatches/{dispatch.pk}/conference/", {"service": "120"}, format="json"
    )
    assert ended.status_code == 409 and ended.json()["code"] == "call_not_live"
    assert not twilio.http.to(r"/Participants\.json$")
    assert not Event.objects.filter(type="call.responder_joined").exists()
