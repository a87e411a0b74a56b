"""话后短信: the hotline's numbers by SMS after the call, only with the caller's consent and
never to a withheld number; recorded on the case; the status follows Twilio's callback."""

from hotline import services
from hotline.models import Call, PostCallSms
from hotline.services.aftercall import POST_CALL_SMS_TEXT
from realtime.models import Event
from tests.hotline.conftest import SCREEN_NONE

STATUS = "/twilio/sms/post-call/status/"


def _triage(client, call):
    response = client.post(
        f"/api/v1/calls/{call.pk}/triage/",
        {**SCREEN_NONE, "disposition": "resolved"},
        format="json",
    )
    assert response.status_code == 200, response.json()


def _wrap_up(client, call, **body):
    return client.post(f"/api/v1/calls/{call.pk}/wrap-up/", body, format="json")


def test_with_consent_the_sms_goes_through_twilio_with_a_status_callback(
    client_for, operator, held_call, twilio
):
    client = client_for(operator)
    _triage(client, held_call)
    response = _wrap_up(client, held_call, notes="ok", sms_consent=True)
    assert response.status_code == 200, response.json()
    sent = twilio.http.to(r"/Accounts/AC0+/Messages\.json$")
    assert len(sent) == 1
    assert sent[0].method == "POST"
    assert sent[0].data == {
        "To": "+8613900000077",
        "From": "+865722251885",
        "Body": POST_CALL_SMS_TEXT,
        "StatusCallback": "http://127.0.0.1:8000/twilio/sms/post-call/status/",
    }
    for number in ("2251885", "2259885", "12356", "110", "120"):
        assert number in sent[0].data["Body"]
    sms = PostCallSms.objects.get(call=held_call)
    assert sms.provider_sid.startswith("SM") and sms.status == "queued" and sms.sent_by == operator
    event = Event.objects.get(type="call.sms_sent")
    assert event.case_id == held_call.case_id and event.data["sms"] == sms.pk


def test_without_consent_nothing_is_sent(client_for, operator, held_call, twilio):
    client = client_for(operator)
    _triage(client, held_call)
    assert _wrap_up(client, held_call, notes="ok").status_code == 200
    assert _wrap_up_was_silent(twilio)
    assert not PostCallSms.objects.exists()


def _wrap_up_was_silent(twilio) -> bool:
    return not twilio.http.to(r"/Messages\.json$")


def test_consent_for_a_withheld_number_is_400_and_the_call_stays_in_wrap_up(
    client_for, operator, twilio
):
    call = services.enter_manual_call(operator, channel="walk_in", from_number="")
    services.accept_call(operator, call)
    client = client_for(operator)
    _triage(client, call)
    response = _wrap_up(client, call, sms_consent=True)
    assert response.status_code == 400
    assert "sms_consent" in response.json()["fields"]
    assert Call.objects.get(pk=call.pk).status == "wrap_up"
    assert _wrap_up_was_silent(twilio) and not PostCallSms.objects.exists()


def test_the_status_callback_follows_delivery_and_a_failure_goes_on_the_timeline(
    client, client_for, operator, held_call, twilio
):
    client_op = client_for(operator)
    _triage(client_op, held_call)
    _wrap_up(client_op, held_call, sms_consent=True)
    sms = PostCallSms.objects.get()
    bad = twilio.post(
        client,
        STATUS,
        {"MessageSid": sms.provider_sid, "MessageStatus": "sent"},
        signature="wrong",
    )
    assert bad.status_code == 403
    ok = twilio.post(
        client,
        STATUS,
        {"MessageSid": sms.provider_sid, "MessageStatus": "sent"},
    )
    assert ok.status_code == 204
    sms.refresh_from_db()
    assert sms.status == "sent"
    twilio.post(
        client,
        STATUS,
        {"MessageSid": sms.provider_sid, "MessageStatus": "undelivered"},
    )
    sms.refresh_from_db()
    assert sms.status == "undelivered"
    assert Event.objects.filter(type="call.sms_failed", case=held_call.case).count() == 1
    unknown = twilio.post(
        client,
        STATUS,
        {"MessageSid": "SMunknown", "MessageStatus": "sent"},
    )
    assert unknown.status_code == 204
