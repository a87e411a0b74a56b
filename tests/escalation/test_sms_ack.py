"""Acknowledgement by SMS reply and key press, tested with what the project's own dispatch sent:
the SMS and calls the Twilio SDK built (recorded, not sent), replied to through signed webhooks.
"""

import re
from datetime import timedelta
from urllib.parse import urlparse

import pytest
from django.utils import timezone

from escalation import services
from escalation.models import Alert, DispatchLeg, InboundMessage
from hotline.conversation_models import ContactMessage
from realtime.models import Event

SMS = "/twilio/sms/incoming/"
CODE_IN_TEXT = re.compile(r"“1 ([A-Z0-9]{5})”")


def _one_key(client_for, operator, case):
    response = client_for(operator).post(
        "/api/v1/dispatches/", {"case": case.pk, "address": "月河街12号"}, format="json"
    )
    assert response.status_code == 201, response.json()
    return response.json()


def _recorded_sms(twilio) -> list[tuple[str, str]]:
    """(To, code) of every SMS the SDK was asked to send, the code as its text gives it."""
    return [
        (r.data["To"], CODE_IN_TEXT.search(r.data["Body"]).group(1))
        for r in twilio.http.to(r"/Messages\.json$")
    ]


def _ack_events():
    return Event.objects.filter(type="dispatch.leg_acknowledged")


@pytest.fixture
def dispatched(client_for, operator, hotline_case, responders, twilio, run_worker):
    """One key pressed over the API; the worker hands every SMS and call to the SDK."""
    created = _one_key(client_for, operator, hotline_case)
    run_worker()
    sent = _recorded_sms(twilio)
    assert len(sent) == len(created["legs"]) == 4
    return {"legs": created["legs"], "sms": sent}


@pytest.mark.parametrize(
    "reply",
    [
        "1 {code}",
        "收到 {code}",
        "１　{lower}",  # full-width digit and space, lowercase code
        "  收到{code}  ",
        "“1 {code}”。",
        "1{code}",
    ],
)
def test_the_reply_from_the_number_the_sms_went_to_acknowledges_its_leg(
    client, dispatched, twilio, reply
):
    for n, (to, code) in enumerate(dispatched["sms"]):
        body = reply.format(code=code, lower=code.lower())
        params = {"MessageSid": f"SM{n}", "From": to, "Body": body}
        answer = twilio.post(client, SMS, params)
        assert answer.status_code == 200 and answer["Content-Type"] == "text/xml"
        assert "已确认收到紧急联动" in answer.content.decode()
        leg = DispatchLeg.objects.get(short_code=code)
        assert leg.state == "acknowledged" and leg.acknowledged_via == "sms"
        event = _ack_events().get(data__leg=leg.pk)
        assert event.data["via"] == "sms" and event.data["phone"] == to
    assert InboundMessage.objects.count() == 4


def test_the_expert_is_the_person_acknowledging_from_their_own_phone(
    client, dispatched, twilio, responders
):
    to, code = next(s for s in dispatched["sms"] if s[0] == str(responders["expert"].phone))
    twilio.post(client, SMS, {"MessageSid": "SMe", "From": to, "Body": f"收到 {code}"})
    leg = DispatchLeg.objects.get(short_code=code)
    assert leg.kind == "expert" and leg.acknowledged_by == responders["expert"]


def test_a_national_spelling_of_the_number_is_the_same_number(client, dispatched, twilio):
    _to, code = next(s for s in dispatched["sms"] if s[0] == "+865722000001")
    twilio.post(client, SMS, {"MessageSid": "SMn", "From": "0572-2000001", "Body": f"1 {code}"})
    assert DispatchLeg.objects.get(short_code=code).state == "acknowledged"


def test_a_repeated_message_sid_changes_nothing_twice(client, dispatched, twilio):
    to, code = dispatched["sms"][0]
    params = {"MessageSid": "SMdup", "From": to, "Body": f"1 {code}"}
    assert "已确认" in twilio.post(client, SMS, params).content.decode()
    events = Event.objects.count()
    again = twilio.post(client, SMS, params)
    assert again.status_code == 200 and "<Message>" not in again.content.decode()
    assert Event.objects.count() == events and InboundMessage.objects.count() == 1
    # A second reply (new sid) is told it was already done, and writes nothing either.
    later = twilio.post(client, SMS, {**params, "MessageSid": "SMdup2"})
    assert "此前已确认" in later.content.decode()
    assert Event.objects.count() == events and InboundMessage.objects.count() == 1


def test_a_code_sent_to_another_number_is_refused_politely(client, dispatched, twilio):
    (_to_a, code_a), (to_b, _code_b) = dispatched["sms"][:2]
    answer = twilio.post(client, SMS, {"MessageSid": "SMx", "From": to_b, "Body": f"1 {code_a}"})
    text = answer.content.decode()
    assert answer.status_code == 200 and "不是发给本号码" in text and code_a in text
    assert DispatchLeg.objects.filter(state="acknowledged").count() == 0
    assert not _ack_events().exists() and not InboundMessage.objects.exists()


def test_an_unknown_code_or_number_is_refused_politely(client, dispatched, twilio):
    to, _code = dispatched["sms"][0]
    unknown = twilio.post(client, SMS, {"MessageSid": "SMu", "From": to, "Body": "1 XXXXX"})
    assert "未找到确认码“XXXXX”" in unknown.content.decode()
    _to, code = dispatched["sms"][1]
    # A number nothing was sent to is a member of the public writing to the hotline: a text
    # conversation, not an acknowledgement (tests/hotline/test_sms_conversation.py).
    stranger = twilio.post(
        client, SMS, {"MessageSid": "SMs", "From": "+8613812345678", "Body": f"1 {code}"}
    )
    assert stranger.status_code == 200 and "<Message>" not in stranger.content.decode()
    assert ContactMessage.objects.get(provider_sid="SMs").call.channel == "sms"
    mumble = twilio.post(client, SMS, {"MessageSid": "SMm", "From": to, "Body": "你好"})
    assert "未能识别" in mumble.content.decode()
    assert DispatchLeg.objects.filter(state="acknowledged").count() == 0
    assert not _ack_events().exists() and not InboundMessage.objects.exists()


def test_a_bare_1_acknowledges_only_when_one_thing_waits_on_the_number(
    client, dispatched, twilio, responders, operator, run_worker
):
    to = "+865722000001"  # the community committee: one leg waits on it
    answer = twilio.post(client, SMS, {"MessageSid": "SMb", "From": to, "Body": "1"})
    assert "已确认" in answer.content.decode()
    assert DispatchLeg.objects.get(kind="community").state == "acknowledged"


def test_a_forged_webhook_is_403_and_writes_nothing(client, dispatched, twilio):
    to, code = dispatched["sms"][0]
    params = {"MessageSid": "SMf", "From": to, "Body": f"1 {code}"}
    assert twilio.post(client, SMS, params, signature="bogus").status_code == 403
    # Signed for another body: the signature covers the parameters too.
    tampered = client.post(
        SMS, params, HTTP_X_TWILIO_SIGNATURE=_signature_of(twilio, {**params, "Body": "1"})
    )
    assert tampered.status_code == 403
    gather = twilio.post(client, "/twilio/voice/gather/", {"Digits": "1"}, signature="x")
    assert gather.status_code == 403
    assert DispatchLeg.objects.filter(state="acknowledged").count() == 0
    assert not InboundMessage.objects.exists() and not _ack_events().exists()


def _signature_of(twilio, params) -> str:
    from tests.twilio_recorder import sign

    return sign("http://testserver" + SMS, params, twilio.token)


def test_pressing_1_on_the_recorded_call_acknowledges_its_leg(client, dispatched, twilio):
    calls = twilio.http.to(r"/Calls\.json$")
    assert len(calls) == 4
    for n, call in enumerate(calls):
        twiml_path = urlparse(call.data["Url"]).path
        twiml = twilio.post(client, twiml_path, {"CallSid": f"CA{n}", "To": call.data["To"]})
        body = twiml.content.decode()
        assert "按1" in body
        action = re.search(r'<Gather action="([^"]+)"', body).group(1).replace("&amp;", "&")
        other_key = twilio.post(client, action, {"CallSid": f"CA{n}", "Digits": "2"})
        assert "按1" in other_key.content.decode()
        pressed = twilio.post(client, action, {"CallSid": f"CA{n}", "Digits": "1"})
        assert "已确认收到紧急联动" in pressed.content.decode()
    legs = DispatchLeg.objects.all()
    assert {leg.state for leg in legs} == {"acknowledged"}
    assert {leg.acknowledged_via for leg in legs} == {"voice"}
    assert _ack_events().count() == 4
    assert {e.data["phone"] for e in _ack_events()} == {c.data["To"] for c in calls}
    # Pressing 1 again on a call already acknowledged changes nothing.
    again = twilio.post(client, action, {"CallSid": "CA3", "Digits": "1"})
    assert "此前已确认" in again.content.decode() and _ack_events().count() == 4


def test_the_reminder_alert_of_a_leg_is_acknowledged_by_reply_and_so_is_the_leg(
    client, dispatched, twilio, run_worker
):
    """Past the deadline each leg's organisation gets a life-safety alert with its own code."""
    before = len(twilio.http.to(r"/Messages\.json$"))
    run_worker(now=timezone.now() + timedelta(seconds=61))
    reminders = _recorded_sms(twilio)[before:]
    community = Alert.objects.get(kind="dispatch_leg_unacknowledged", data__kind="community")
    to, code = next(s for s in reminders if s[1] == community.short_code)
    answer = twilio.post(client, SMS, {"MessageSid": "SMr", "From": to, "Body": f"收到 {code}"})
    assert "已确认收到紧急联动" in answer.content.decode()
    leg = DispatchLeg.objects.get(kind="community")
    assert leg.state == "acknowledged" and leg.acknowledged_via == "sms"
    community.refresh_from_db()
    assert community.state == "resolved"  # the leg's acknowledgement settles its reminder


def test_an_escalation_alert_to_a_coordinator_is_acknowledged_by_reply(
    client, network, coordinator, twilio, run_worker
):
    coordinator.phone = "+8613900000099"
    coordinator.save()
    alert, _ = services.raise_alert(
        services.AlertSpec(
            dedup_key="t:1", kind="test_alert", title="测试预警", severity="critical"
        )
    )
    run_worker()
    sent = _recorded_sms(twilio)
    assert sent == [("+8613900000099", alert.short_code)]
    answer = twilio.post(
        client,
        SMS,
        {"MessageSid": "SMc", "From": "+8613900000099", "Body": f"1 {alert.short_code}"},
    )
    assert "已确认预警“测试预警”" in answer.content.decode()
    alert.refresh_from_db()
    assert alert.state == "acknowledged" and alert.acknowledged_by == coordinator
    event = Event.objects.get(type="alert.acknowledged")
    assert event.data["via"] == "sms" and event.data["phone"] == "+8613900000099"


@pytest.mark.parametrize(
    ("body", "acknowledges", "code"),
    [
        ("1 K7Q2P", True, "K7Q2P"),
        ("收到 k7q2p", True, "K7Q2P"),
        ("收到K7Q2P", True, "K7Q2P"),
        ("１\u3000ｋ７ｑ２ｐ", True, "K7Q2P"),
        ("“1 K7Q2P”", True, "K7Q2P"),
        ("  1   K7Q2P  谢谢", True, "K7Q2P"),
        ("1", True, ""),
        ("收到，马上出发", True, ""),
        ("ok", True, ""),
        ("OKAY K7Q2P", False, ""),
        ("K7Q2P", False, ""),
        ("你好", False, ""),
        ("", False, ""),
    ],
)
def test_parse_reply(body, acknowledges, code):
    parsed = services.parse_reply(body)
    assert (parsed.acknowledges, parsed.code) == (acknowledges, code)
