"""The API lists text conversations beside calls (``?channel=``) and serves their transcript;
the transcript follows the person's retention."""

from datetime import timedelta

import pytest
from django.utils import timezone

from hotline import services
from hotline.conversation_models import ContactMessage
from hotline.models import Call, Case
from hotline.services.retention import anonymise_expired
from realtime.models import ConsoleSession
from tests.hotline import overflow_fixtures as fx

province, operator12356 = fx.province, fx.operator12356


@pytest.fixture
def conversations(network, operator):
    ConsoleSession.objects.create(user=operator, channel_name=f"test.{operator.pk}")
    services.set_presence(operator, status="available")
    sms = services.open_conversation("sms", from_number="+8613955550002")
    services.receive_message(sms, "短信内容", provider_sid="SM" + "d" * 32)
    chat = services.open_conversation("webchat", pre_chat={"age_group": "15-18"})
    voice = services.enter_manual_call(operator, channel="walk_in")
    return {"sms": sms, "webchat": chat, "voice": voice}


def test_the_list_filters_by_channel_and_names_the_channel(conversations, operator, client_for):
    api = client_for(operator)
    rows = api.get("/api/v1/calls/").json()["results"]
    assert {r["channel"] for r in rows} == {"sms", "webchat", "walk_in"}
    for channel, expected in (("sms", "sms"), ("webchat", "webchat"), ("voice", "walk_in")):
        rows = api.get("/api/v1/calls/", {"channel": channel}).json()["results"]
        assert [r["channel"] for r in rows] == [expected]
    bad = api.get("/api/v1/calls/", {"channel": "fax"})
    assert bad.status_code == 400 and "channel" in bad.json()["fields"]


def test_the_holder_reads_and_replies_others_only_read(
    conversations, operator, operator2, coordinator, counsellor_a, client_for
):
    chat = conversations["webchat"]
    services.accept_call(operator, chat)
    api = client_for(operator)
    url = f"/api/v1/calls/{chat.pk}/messages/"
    posted = api.post(url, {"body": "你好，我在"}, format="json")
    assert posted.status_code == 201 and posted.json()[0]["direction"] == "out"
    services.receive_message(chat, "谢谢")
    rows = [r for r in api.get(url).json() if r["direction"] != "system"]
    assert [r["body"] for r in rows] == ["你好，我在", "谢谢"]
    assert [r["body"] for r in api.get(url, {"after": rows[0]["id"]}).json()] == ["谢谢"]
    assert api.get(url, {"after": "x"}).status_code == 400
    # Another operator and the coordinator read it; they may not write in it.
    for reader in (operator2, coordinator):
        assert client_for(reader).get(url).status_code == 200
    denied = client_for(operator2).post(url, {"body": "插话"}, format="json")
    assert denied.status_code == 403
    # Outside the hotline: no such call.
    assert client_for(counsellor_a).get(url).status_code in (403, 404)
    empty = api.post(url, {"body": "   "}, format="json")
    assert empty.status_code == 400
    assert ContactMessage.objects.filter(call=chat, direction="out").count() == 1


def test_the_operator_offered_a_chat_reads_it_before_accepting_another_centre_does_not(
    network, operator, operator12356, client_for
):
    """The offer card shows the transcript so far; replying waits for the accept."""
    ConsoleSession.objects.create(user=operator, channel_name=f"test.{operator.pk}")
    services.set_presence(operator, status="available")
    chat = services.open_conversation("webchat", pre_chat={"safe_now": False})
    services.receive_message(chat, "我现在很害怕")
    chat.refresh_from_db()
    assert chat.status == "offered" and chat.offered_to == operator
    url = f"/api/v1/calls/{chat.pk}/messages/"
    rows = client_for(operator).get(url).json()
    assert [r["direction"] for r in rows] == ["system", "in"]
    assert "现在安全吗：否" in rows[0]["body"] and rows[1]["body"] == "我现在很害怕"
    early = client_for(operator).post(url, {"body": "你好"}, format="json")
    assert early.status_code == 403 and early.json()["code"] == "not_your_call"
    # An operator of another hotline centre: no such conversation.
    assert client_for(operator12356).get(url).status_code == 404
    assert ContactMessage.objects.filter(call=chat, direction="out").count() == 0


def test_a_phone_call_has_no_transcript(conversations, operator, client_for):
    voice = conversations["voice"]
    response = client_for(operator).get(f"/api/v1/calls/{voice.pk}/messages/")
    assert response.status_code == 400


def test_the_holder_ends_a_chat_and_the_person_is_told(conversations, operator, client_for):
    chat = conversations["webchat"]
    services.accept_call(operator, chat)
    response = client_for(operator).post(f"/api/v1/calls/{chat.pk}/end/")
    assert response.status_code == 200 and response.json()["ended_at"]
    assert chat.messages.last().direction == "system"
    again = client_for(operator).post(f"/api/v1/calls/{chat.pk}/messages/", {"body": "还在吗"})
    assert again.status_code == 409


def test_the_transcript_goes_with_the_person_at_retention(conversations, settings):
    settings.CASE_RETENTION_DAYS = 30
    sms = conversations["sms"]
    Case.objects.filter(pk=sms.case_id).update(
        stage="closed", closed_at=timezone.now() - timedelta(days=40)
    )
    anonymise_expired(timezone.now())
    assert not ContactMessage.objects.filter(call=sms).exists()
    sms = Call.objects.get(pk=sms.pk)
    assert (str(sms.from_number), sms.from_raw) == ("", "")
    assert ContactMessage.objects.filter(call=conversations["webchat"]).exists()


def test_the_dashboard_counts_contacts_by_channel(conversations, coordinator, client):
    from tests.conftest import sign_in

    sign_in(client, coordinator)
    table = client.get("/dashboard/data.json").json()["tables"]["contacts_by_channel"]
    today = {row["code"]: row["today"] for row in table["rows"]}
    assert (today["sms"], today["webchat"], today["walk_in"], today["twilio_voice"]) == (1, 1, 1, 0)
    assert "callback" not in today


def test_the_case_page_shows_the_transcript_to_case_readers(conversations, operator, client):
    from tests.conftest import sign_in

    sign_in(client, operator)
    sms = conversations["sms"]
    page = client.get(f"/care/cases/{sms.case_id}/").content.decode()
    assert "短信内容" in page and "文字会话" in page
