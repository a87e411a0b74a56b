"""SMS to the hotline number: a text from someone who is not a responder awaiting an
acknowledgement starts or continues a conversation; replies go out through the Twilio SDK with a
signed status callback; delivery statuses come back into the transcript."""

import pytest

from hotline import services
from hotline.conversation_models import ContactMessage
from hotline.models import Call
from realtime.models import ConsoleSession
from tests.hotline.conftest import SCREEN_NONE

SMS = "/twilio/sms/incoming/"
STATUS = "/twilio/sms/status/"
TEXTER = "+8613955550001"
HOTLINE_NUMBER = "+865722251885"
STATUS_URL = "http://127.0.0.1:8000/twilio/sms/status/"


@pytest.fixture
def text(twilio, client, django_capture_on_commit_callbacks):
    def send(sid, body, from_=TEXTER, **kw):
        params = {"MessageSid": sid, "From": from_, "To": HOTLINE_NUMBER, "Body": body}
        with django_capture_on_commit_callbacks(execute=True):
            return twilio.post(client, SMS, params, **kw)

    return send


@pytest.fixture
def status_of(twilio, client):
    def send(sid, status, **extra):
        return twilio.post(client, STATUS, {"MessageSid": sid, "MessageStatus": status, **extra})

    return send


def sms_sent(twilio):
    return [r.data for r in twilio.http.to(r"/Messages\.json$")]


def at_console(user):
    ConsoleSession.objects.create(user=user, channel_name=f"test.{user.pk}")
    services.set_presence(user, status="available")


def test_a_text_from_a_new_number_starts_a_conversation(network, text, twilio):
    response = text("SM" + "a" * 32, "我不想活了")
    assert response.status_code == 200 and "<Message>" not in response.content.decode()
    call = Call.objects.get(channel="sms")
    assert call.call_sid.startswith("SMS-") and str(call.from_number) == TEXTER
    assert call.person.phone == TEXTER and call.case is not None
    welcome, first = call.messages.order_by("pk")
    assert welcome.direction == "system" and "110" in welcome.body
    assert first.direction == "in" and first.body == "我不想活了"
    assert first.provider_sid == "SM" + "a" * 32
    # The welcome went out through the SDK, with the signed status callback.
    assert sms_sent(twilio) == [
        {"To": TEXTER, "From": HOTLINE_NUMBER, "Body": welcome.body, "StatusCallback": STATUS_URL}
    ]


def test_a_second_text_continues_the_conversation_and_a_repeat_is_recorded_once(network, text):
    text("SM" + "a" * 32, "在吗")
    text("SM" + "b" * 32, "我需要帮助")
    text("SM" + "b" * 32, "我需要帮助")  # Twilio delivered it again
    assert Call.objects.filter(channel="sms").count() == 1
    call = Call.objects.get(channel="sms")
    assert list(call.messages.filter(direction="in").values_list("body", flat=True)) == [
        "在吗",
        "我需要帮助",
    ]


def test_a_bad_signature_is_403_and_writes_nothing(network, text):
    response = text("SM" + "c" * 32, "你好", signature="forged")
    assert response.status_code == 403
    assert not Call.objects.exists() and not ContactMessage.objects.exists()


def test_a_malformed_text_is_400_and_writes_nothing(network, twilio, client):
    response = twilio.post(client, SMS, {"MessageSid": "SMx", "Body": "hi"})  # no From
    assert response.status_code == 400
    assert not Call.objects.exists()


def test_an_operator_replies_and_a_long_chinese_reply_goes_in_parts(
    network, operator, text, twilio, status_of, reply
):
    at_console(operator)
    text("SM" + "a" * 32, "我睡不着")
    call = Call.objects.get(channel="sms")
    services.accept_call(operator, call)
    twilio.http.requests.clear()
    words = "我听到你了。" * 20  # 120 characters: two segments, split after a full stop
    parts = reply(call, operator, words).parts
    assert [p.body for p in parts] == ["我听到你了。" * 11, "我听到你了。" * 9]
    sent = sms_sent(twilio)
    assert [s["Body"] for s in sent] == [p.body for p in parts]
    assert all(
        s["To"] == TEXTER and s["From"] == HOTLINE_NUMBER and s["StatusCallback"] == STATUS_URL
        for s in sent
    )
    for p in parts:
        p.refresh_from_db()
        assert p.provider_sid.startswith("SM") and p.delivery_status == "queued"
    # Twilio tells us how each went, in any order; a status never goes back.
    assert status_of(parts[0].provider_sid, "delivered").status_code == 204
    assert status_of(parts[0].provider_sid, "sent").status_code == 204
    assert status_of(parts[1].provider_sid, "undelivered", ErrorCode="30003").status_code == 204
    parts[0].refresh_from_db()
    parts[1].refresh_from_db()
    assert parts[0].delivery_status == "delivered"
    assert (parts[1].delivery_status, parts[1].error_code) == ("undelivered", "30003")
    assert status_of("SM" + "9" * 32, "delivered").status_code == 404


def test_a_forged_status_callback_is_refused(network, twilio, client):
    params = {"MessageSid": "SM" + "1" * 32, "MessageStatus": "delivered"}
    assert twilio.post(client, STATUS, params, signature="forged").status_code == 403


def test_a_refused_send_is_failed_in_the_transcript(network, operator, text, twilio, reply):
    at_console(operator)
    text("SM" + "a" * 32, "你好")
    call = Call.objects.get(channel="sms")
    services.accept_call(operator, call)
    twilio.http.responses.append((400, {"code": 21610, "message": "unsubscribed", "status": 400}))
    message = reply(call, operator, "你好，我是接线员")
    message.refresh_from_db()
    assert message.delivery_status == "failed" and message.error_code == "21610"


def test_after_wrap_up_a_new_text_starts_a_new_conversation(network, operator, text):
    at_console(operator)
    text("SM" + "a" * 32, "你好")
    first = Call.objects.get(channel="sms")
    services.accept_call(operator, first)
    services.triage_call(operator, first, screen=SCREEN_NONE, disposition="resolved")
    services.wrap_up_call(operator, first)
    text("SM" + "b" * 32, "又是我")
    second = Call.objects.filter(channel="sms").exclude(pk=first.pk).get()
    assert second.case == first.case  # one person, one case
    assert second.messages.filter(direction="in").get().body == "又是我"
