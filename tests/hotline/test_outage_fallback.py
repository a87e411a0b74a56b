"""The caller always hears something: the fallback TwiML that needs no database, the spool of a
call the database could not take, and its recording (and alert) once the database is back.
The webhook failing over on a real outage is tests/faults/test_database_outage.py. Tests without
a database fixture prove the view makes no query (pytest-django refuses any)."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from escalation.models import Alert
from escalation.sources import calls_taken_during_outage
from hotline import outage
from hotline.models import Call, CallStatus
from realtime.models import Event

DUTY = "+8657222518850"
SID = "CA" + "f" * 32


@pytest.fixture
def spool(settings, tmp_path):
    settings.HOTLINE_SPOOL_DIR = tmp_path / "spool"
    return settings.HOTLINE_SPOOL_DIR


def test_the_fallback_url_dials_the_duty_phone_without_the_database(
    twilio, client, settings, spool
):
    settings.HOTLINE_FALLBACK_NUMBER = DUTY
    params = {"CallSid": SID, "From": "+8613900000001", "To": "+865722251885", "ErrorCode": "11200"}
    response = twilio.post(client, "/twilio/voice/fallback/", params)  # no db fixture: no queries
    assert response.status_code == 200
    body = response.content.decode()
    assert '<Say language="zh-CN">' in body and "正在为您转接值班电话" in body
    assert f"<Number>{DUTY}</Number>" in body and 'action="/twilio/voice/fallback/dial/"' in body
    [record] = outage.spooled()
    saved = json.loads(record.read_text())
    assert (saved["call_sid"], saved["from"], saved["duty_phone"]) == (SID, "+8613900000001", DUTY)


def test_without_a_duty_phone_the_fallback_holds_the_caller_in_twilios_queue(twilio, client, spool):
    response = twilio.post(client, "/twilio/voice/fallback/", {"CallSid": SID})
    assert "<Enqueue" in response.content.decode() and "<Dial" not in response.content.decode()


def test_an_unanswered_duty_phone_is_dialled_again_and_a_conversation_ends_the_call(
    twilio, client, settings
):
    settings.HOTLINE_FALLBACK_NUMBER = DUTY
    path = "/twilio/voice/fallback/dial/"
    again = twilio.post(client, path, {"DialCallStatus": "no-answer"}).content.decode()
    done = twilio.post(client, path, {"DialCallStatus": "completed"}).content.decode()
    assert "重新转接" in again and f"<Number>{DUTY}</Number>" in again
    assert "<Hangup />" in done and "<Dial" not in done


def test_the_fallback_url_refuses_a_forged_request(twilio, client, spool):
    response = twilio.post(client, "/twilio/voice/fallback/", {"CallSid": SID}, signature="x")
    assert response.status_code == 403
    assert outage.spooled() == []


def test_spooled_calls_are_recorded_once_the_database_answers_and_an_alert_raised(
    network, coordinator, spool
):
    received = timezone.now() - timedelta(minutes=3)
    outage.spool_call(
        call_sid=SID, from_raw="+8613900000077", to_raw="", duty_phone=DUTY, error="down"
    )
    outage.spool_call(
        call_sid="CA" + "9" * 32, from_raw="anonymous", to_raw="", duty_phone="", error="down"
    )
    [alert_spec] = list(calls_taken_during_outage(timezone.now()))
    assert outage.spooled() == []

    put_through = Call.objects.get(call_sid=SID)
    assert put_through.status == CallStatus.ABANDONED  # ended by the duty phone, never offered
    assert (put_through.connected_via, put_through.connect_target) == ("fallback", DUTY)
    assert put_through.queued_at >= received and DUTY in put_through.notes
    assert put_through.case.person.phone == "+8613900000077"
    held = Call.objects.get(call_sid="CA" + "9" * 32)
    assert held.status == CallStatus.QUEUED and held.person.is_anonymous
    assert Event.objects.filter(type="call.abandoned", data__via="fallback").count() == 1

    from escalation.services import raise_alert

    alert, created = raise_alert(alert_spec)
    assert created and alert.kind == "outage_calls" and alert.severity == "critical"
    assert alert.data["calls"] == [put_through.pk, held.pk]
    assert alert.target_organisation == network["hotline"]
    # Replayed again (a second worker, or Twilio's own retry already recorded): nothing new.
    outage.spool_call(call_sid=SID, from_raw="+8613900000077", to_raw="", duty_phone=DUTY, error="")
    assert list(calls_taken_during_outage(timezone.now())) == []
    assert Call.objects.filter(call_sid=SID).count() == 1
    assert Alert.objects.filter(kind="outage_calls").count() == 1


def test_an_unreadable_spool_record_is_set_aside_and_the_rest_recorded(network, spool):
    spool.mkdir(parents=True)
    (spool / "00000000000000000001-bad.json").write_text("{not json")
    outage.spool_call(call_sid=SID, from_raw="+8613900000078", to_raw="", duty_phone="", error="")
    assert [r.call_sid for r in outage.replay_spool()] == [SID]
    assert (spool / "00000000000000000001-bad.bad").exists()
