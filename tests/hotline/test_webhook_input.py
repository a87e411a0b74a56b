"""Signed but malformed Twilio webhooks: a 400 that says which parameter, and nothing written.
The signature is still checked first: an unsigned request is 403 whatever it holds."""

import pytest

from escalation.models import InboundMessage
from hotline.models import Call, Case, Person
from realtime.models import Event

SID = "CA" + "e" * 32


def _nothing_written():
    return (Call.objects.count(), Person.objects.count(), Case.objects.count()) == (0, 0, 0) and (
        not Event.objects.exists()
    )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"CallSid": SID, "From": "+86139\x0000001"}, "From"),
        ({"CallSid": "CA\x00" + "e" * 31, "From": "+8613900000001"}, "CallSid"),
        ({"CallSid": "CA" + "e" * 63, "From": "+8613900000001"}, "CallSid"),
        ({"CallSid": SID, "From": "+8613900000001", "To": "9" * 65}, "To"),
        ({"From": "+8613900000001"}, "CallSid"),
    ],
    ids=["nul-in-from", "nul-in-callsid", "callsid-65-chars", "to-too-long", "no-callsid"],
)
def test_a_malformed_incoming_call_is_a_400_naming_the_field(
    network, twilio, client, params, field
):
    response = twilio.post(client, "/twilio/voice/incoming/", params)
    assert response.status_code == 400
    assert response.content.decode().startswith(field + ":")
    assert _nothing_written()


def test_an_unsigned_malformed_request_is_refused_by_its_signature_first(network, twilio, client):
    params = {"CallSid": "CA\x00" + "e" * 80}
    response = twilio.post(client, "/twilio/voice/incoming/", params, signature="forged")
    assert response.status_code == 403
    assert _nothing_written()


@pytest.mark.parametrize("position", ["9" * 5000, "1\x002", "-3", "abc"])
def test_a_queue_position_that_is_not_a_small_number_is_a_400(twilio, client, position):
    response = twilio.post(client, "/twilio/voice/wait/", {"QueuePosition": position})
    assert response.status_code == 400
    assert b"QueuePosition" in response.content


def test_the_wait_loop_still_counts_the_callers_ahead(twilio, client):
    response = twilio.post(client, "/twilio/voice/wait/", {"QueuePosition": "3"})
    assert response.status_code == 200
    assert "您前面还有2位来电者" in response.content.decode()
    assert twilio.post(client, "/twilio/voice/wait/", {}).status_code == 200


@pytest.mark.parametrize(
    "params",
    [
        {"CallSid": SID, "CallStatus": "comp\x00leted"},
        {"CallSid": "CA" + "e" * 100, "CallStatus": "completed"},
        {"CallSid": SID, "CallStatus": "x" * 21},
    ],
)
def test_a_malformed_status_callback_is_a_400_and_changes_nothing(
    network, incoming, twilio, client, params
):
    incoming(SID)
    before = Call.objects.get(call_sid=SID)
    events = Event.objects.count()
    response = twilio.post(client, "/twilio/voice/status/", params)
    assert response.status_code == 400
    after = Call.objects.get(call_sid=SID)
    assert (after.status, after.twilio_status) == (before.status, before.twilio_status)
    assert Event.objects.count() == events


@pytest.mark.parametrize(
    "params",
    [
        {"From": "+8613900000001", "Body": "1 K7\x00Q2P", "MessageSid": "SM" + "1" * 32},
        {"From": "+8613900000001", "Body": "1", "MessageSid": "SM" + "1" * 80},
        {"From": "+86139\x0000001", "Body": "1", "MessageSid": "SM" + "1" * 32},
        {"From": "+8613900000001", "Body": "1" * 1601, "MessageSid": "SM" + "1" * 32},
    ],
    ids=["nul-in-body", "long-message-sid", "nul-in-from", "body-too-long"],
)
def test_a_malformed_sms_reply_is_a_400_and_acknowledges_nothing(network, twilio, client, params):
    response = twilio.post(client, "/twilio/sms/incoming/", params)
    assert response.status_code == 400
    assert not InboundMessage.objects.exists() and not Event.objects.exists()


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/twilio/voice/gather/?m=a%00b", {"Digits": "1"}),
        ("/twilio/voice/gather/?m=" + "a" * 65, {"Digits": "1"}),
        ("/twilio/voice/gather/", {"Digits": "1\x00", "CallSid": SID}),
        ("/twilio/voice/gather/", {"Digits": "1", "CallSid": "CA" + "e" * 70}),
    ],
)
def test_a_malformed_key_press_is_a_400(network, twilio, client, path, params):
    response = twilio.post(client, path, params)
    assert response.status_code == 400
    assert not Event.objects.exists()


@pytest.mark.parametrize("token", ["a%00b", "a" * 65])
def test_an_alert_call_token_that_cannot_exist_is_a_404(network, twilio, client, token):
    assert twilio.post(client, f"/twilio/voice/alert/{token}/", {}).status_code == 404
