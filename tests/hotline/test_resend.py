"""重发: the operator holding a text conversation sends a failed reply again, once, through the same
path (here SMS through the Twilio SDK's recording client; WeChat in test_wechat.py). Each answer
of ``POST /api/v1/calls/{id}/messages/{message_id}/resend/``."""

import pytest

from core.errors import Conflict
from hotline import services
from hotline.conversation_models import ContactMessage
from hotline.models import Call
from hotline.services import conversations
from tests.hotline.test_sms_conversation import at_console, sms_sent

TEXTER = "+8613955550001"


def resend_url(call, message) -> str:
    pk = message if isinstance(message, int) else message.pk
    return f"/api/v1/calls/{call.pk}/messages/{pk}/resend/"


@pytest.fixture
def held(network, operator, twilio, client, django_capture_on_commit_callbacks):
    """An SMS conversation operator holds."""
    at_console(operator)
    params = {"MessageSid": "SM" + "a" * 32, "From": TEXTER, "To": "+865722251885", "Body": "你好"}
    with django_capture_on_commit_callbacks(execute=True):
        twilio.post(client, "/twilio/sms/incoming/", params)
    call = Call.objects.get(channel="sms")
    services.accept_call(operator, call)
    return call


@pytest.fixture
def api(client_for, django_capture_on_commit_callbacks):
    """``api(user).post(url)`` as the request runs it: what it sends goes out on commit."""

    def make(user):
        client = client_for(user)

        class Api:
            def post(self, url):
                with django_capture_on_commit_callbacks(execute=True):
                    return client.post(url, format="json")

            def get(self, url):
                return client.get(url)

        return Api()

    return make


@pytest.fixture
def failed(held, operator, twilio, django_capture_on_commit_callbacks):
    """A reply the phone never got: Twilio said undelivered (30003, the phone is off)."""
    with django_capture_on_commit_callbacks(execute=True):
        message = services.send_reply(held, operator, "我在这里，你现在安全吗？")
    message.refresh_from_db()
    conversations.message_status_changed(
        provider_sid=message.provider_sid, status="undelivered", error_code="30003"
    )
    message.refresh_from_db()
    twilio.http.requests.clear()
    return message


def test_a_failed_reply_is_sent_again_through_the_sdk_and_linked(
    held, operator, twilio, failed, api
):
    response = api(operator).post(resend_url(held, failed))
    assert response.status_code == 201
    new = ContactMessage.objects.get(pk=response.json()["id"])
    assert (new.body, new.direction, new.author, new.resend_of) == (
        failed.body,
        "out",
        operator,
        failed,
    )
    assert [s["Body"] for s in sms_sent(twilio)] == [failed.body]
    assert sms_sent(twilio)[0]["To"] == TEXTER
    assert new.provider_sid.startswith("SM") and new.provider_sid != failed.provider_sid
    assert new.delivery_status == "queued" and response.json()["resend_of"] == failed.pk
    failed.refresh_from_db()
    assert (failed.delivery_status, failed.error_code) == ("undelivered", "30003")  # stays
    rows = {r["id"]: r for r in api(operator).get(f"/api/v1/calls/{held.pk}/messages/").json()}
    assert rows[failed.pk]["resent_as"] == new.pk
    assert rows[failed.pk]["error_text"] == "the phone is off or out of reach"
    assert rows[new.pk]["resent_as"] is None


def test_a_reply_is_sent_again_once(held, operator, twilio, failed, api):
    assert api(operator).post(resend_url(held, failed)).status_code == 201
    twilio.http.requests.clear()
    again = api(operator).post(resend_url(held, failed))
    assert again.status_code == 409 and again.json()["code"] == "already_resent"
    assert sms_sent(twilio) == []
    assert ContactMessage.objects.filter(resend_of=failed).count() == 1


def test_a_refused_send_can_be_sent_again_and_its_resend_if_that_fails_too(
    held, operator, twilio, api, django_capture_on_commit_callbacks
):
    twilio.http.responses.append((400, {"code": 30008, "message": "unknown", "status": 400}))
    with django_capture_on_commit_callbacks(execute=True):
        first = services.send_reply(held, operator, "你还在吗？")
    first.refresh_from_db()
    assert (first.delivery_status, first.error_code) == ("failed", "30008")
    twilio.http.responses.append((400, {"code": 30008, "message": "unknown", "status": 400}))
    second = ContactMessage.objects.get(pk=api(operator).post(resend_url(held, first)).json()["id"])
    assert (second.delivery_status, second.error_code) == ("failed", "30008")
    third = api(operator).post(resend_url(held, second))
    assert third.status_code == 201
    assert ContactMessage.objects.get(pk=third.json()["id"]).delivery_status == "queued"


def test_a_reply_that_did_not_fail_is_409(held, operator, twilio, api, failed):
    sent = ContactMessage.objects.create(
        call=held, direction="out", body="好", author=operator, delivery_status="delivered"
    )
    person = held.messages.filter(direction="in").get()
    for message in (sent, person):
        response = api(operator).post(resend_url(held, message))
        assert response.status_code == 409 and response.json()["code"] == "not_failed"
        assert "failed" in response.json()["detail"]
    assert not ContactMessage.objects.filter(resend_of__isnull=False).exists()


def test_another_operator_gets_403_and_nothing_is_sent(held, operator2, twilio, failed, api):
    response = api(operator2).post(resend_url(held, failed))
    assert response.status_code == 403 and response.json()["code"] == "not_your_call"
    assert sms_sent(twilio) == [] and not ContactMessage.objects.filter(resend_of=failed).exists()


def test_a_message_of_another_call_is_404(held, operator, twilio, failed, api):
    other = Call.objects.create(
        hotline=held.hotline, call_sid="SMS-other", channel="sms", status="in_progress"
    )
    elsewhere = ContactMessage.objects.create(
        call=other, direction="out", body="x", delivery_status="failed"
    )
    response = api(operator).post(resend_url(held, elsewhere))
    assert response.status_code == 404 and response.json()["code"] == "unknown_message"
    assert api(operator).post(resend_url(held, 999999999)).status_code == 404
    assert sms_sent(twilio) == []


def test_after_the_conversation_ended_it_is_409(
    held, operator, twilio, failed, api, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.end_conversation(held, reason="operator", by_user=operator)
    twilio.http.requests.clear()
    response = api(operator).post(resend_url(held, failed))
    assert response.status_code == 409 and response.json()["code"] == "conversation_ended"
    assert sms_sent(twilio) == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_resends_of_one_reply_at_once_send_it_once(held, operator, twilio, failed):
    """Two tabs (or a double click) resending the same reply: real concurrent transactions."""
    from tests.hotline.test_accept_race import _race

    results = _race([lambda: services.resend_message(held, operator, failed.pk)] * 2)
    sent = [r for r in results if isinstance(r, ContactMessage)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(sent) == 1 and len(refused) == 1, results
    assert refused[0].code == "already_resent"
    assert ContactMessage.objects.filter(resend_of=failed).count() == 1
    assert [s["Body"] for s in sms_sent(twilio)] == [failed.body]
