"""The WeChat Official Account (微信公众号): the callback verified and decrypted with wechatpy,
text messages into the same conversations as SMS (one per openid, once per MsgId), replies
through the customer-service message API of a real local HTTP server standing in for
api.weixin.qq.com, and the openid scrubbed at retention."""

from datetime import timedelta
from xml.etree import ElementTree

import pytest
from django.core.cache import cache
from django.utils import timezone
from wechatpy.crypto import WeChatCrypto

from hotline import services
from hotline.conversation_models import ContactMessage
from hotline.models import Call, Case, Person, PersonWeChat
from hotline.services.retention import anonymise_expired
from realtime.models import ConsoleSession
from tests.hotline.conftest import SCREEN_NONE
from tests.wechat_stub import ACCOUNT, AES_KEY, APP_ID, SECRET, TOKEN, signature, wechat_api
from tests.wechat_stub import text_xml as stub_text_xml

URL = "/wechat/callback/"
OPENID = "oABCD1234efgh5678ijkl9012mn"


@pytest.fixture
def api_server():
    with wechat_api() as server:
        yield server


@pytest.fixture
def wechat(settings, api_server):
    settings.WECHAT_APP_ID = APP_ID
    settings.WECHAT_APP_SECRET = SECRET
    settings.WECHAT_TOKEN = TOKEN
    settings.WECHAT_ENCODING_AES_KEY = AES_KEY
    settings.WECHAT_API_BASE_URL = api_server.base_url
    cache.clear()  # no access token from another test's server
    return api_server


def signed(timestamp="1700000000", nonce="n0nce", token=TOKEN) -> dict:
    return {"signature": signature(timestamp, nonce, token), "timestamp": timestamp, "nonce": nonce}


def text_xml(content, msg_id, openid=OPENID) -> str:
    return stub_text_xml(content, msg_id, openid)


def event_xml(event) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
        f"<FromUserName><![CDATA[{OPENID}]]></FromUserName><CreateTime>1700000000</CreateTime>"
        f"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[{event}]]></Event></xml>"
    )


@pytest.fixture
def post(client, django_capture_on_commit_callbacks):
    def send(xml, *, params=None, aes=False):
        query = params if params is not None else signed()
        body = xml.encode("utf-8")
        if aes:
            crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)
            body = crypto.encrypt_message(xml, query["nonce"], query["timestamp"]).encode()
            signature = ElementTree.fromstring(body).findtext("MsgSignature")
            query = {**query, "encrypt_type": "aes", "msg_signature": signature}
        path = URL + "?" + "&".join(f"{k}={v}" for k, v in query.items())
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(path, data=body, content_type="text/xml")

    return send


def reply_content(response) -> str:
    return ElementTree.fromstring(response.content).findtext("Content")


def at_console(user):
    ConsoleSession.objects.create(user=user, channel_name=f"test.{user.pk}")
    services.set_presence(user, status="available")


def nothing_written():
    return not Call.objects.exists() and not ContactMessage.objects.exists()


# --- the callback URL ------------------------------------------------------------------------


def test_wechat_checks_the_url_and_gets_its_echostr_back(network, wechat, client):
    response = client.get(URL, {**signed(), "echostr": "8123456789012345678"})
    assert response.status_code == 200 and response.content == b"8123456789012345678"


def test_a_url_check_with_a_bad_signature_is_403(network, wechat, client):
    forged = {**signed(token="not-our-token"), "echostr": "1"}
    assert client.get(URL, forged).status_code == 403
    assert client.get(URL, {"echostr": "1"}).status_code == 403


def test_the_callback_is_404_when_the_account_is_not_configured(network, client, settings):
    settings.WECHAT_APP_ID = ""
    assert client.get(URL, {**signed(), "echostr": "1"}).status_code == 404
    assert client.post(URL, data=text_xml("你好", 1), content_type="text/xml").status_code == 404


# --- messages in -----------------------------------------------------------------------------


def test_a_text_from_a_new_openid_starts_a_conversation_with_a_welcome(network, wechat, post):
    response = post(text_xml("我不想活了", 6000000000000000001))
    assert response.status_code == 200
    assert "110" in reply_content(response)  # the welcome, as the passive reply
    call = Call.objects.get(channel="wechat")
    assert call.call_sid.startswith("WX-") and call.from_raw == "wechat:" + OPENID
    assert PersonWeChat.objects.get(openid=OPENID).person == call.person
    assert call.case is not None and call.case.person == call.person
    welcome, first = call.messages.order_by("pk")
    assert welcome.direction == "system" and welcome.delivery_status == "sent"
    assert (first.direction, first.body) == ("in", "我不想活了")
    assert first.provider_sid == "WX-6000000000000000001"
    assert wechat.seen == []  # the welcome needed no API call


def test_a_message_in_safe_mode_is_decrypted_and_the_reply_encrypted(network, wechat, post):
    response = post(text_xml("安全模式的消息", 6000000000000000002), aes=True)
    assert response.status_code == 200
    outer = ElementTree.fromstring(response.content)
    crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)
    inner = crypto.decrypt_message(
        response.content, outer.findtext("MsgSignature"), outer.findtext("TimeStamp"), "n0nce"
    )
    assert "110" in ElementTree.fromstring(inner).findtext("Content")
    message = ContactMessage.objects.get(direction="in")
    assert message.body == "安全模式的消息" and message.call.channel == "wechat"


def test_a_repeated_msgid_is_recorded_once_and_a_new_one_continues(network, wechat, post):
    post(text_xml("在吗", 6000000000000000003))
    again = post(text_xml("在吗", 6000000000000000003))  # WeChat retried after 5 s
    assert again.status_code == 200 and again.content == b"success"
    later = post(text_xml("我需要帮助", 6000000000000000004))
    assert later.content == b"success"  # no second welcome
    call = Call.objects.get(channel="wechat")
    assert list(call.messages.filter(direction="in").values_list("body", flat=True)) == [
        "在吗",
        "我需要帮助",
    ]
    assert Person.objects.count() == 1


def test_a_bad_signature_on_a_message_is_403_and_writes_nothing(network, wechat, post):
    response = post(text_xml("你好", 6000000000000000005), params=signed(token="forged"))
    assert response.status_code == 403 and nothing_written()


@pytest.mark.parametrize(
    "body",
    [
        "<xml><ToUserName>",  # not XML
        "<notxml/>",  # XML, not a message
        "<xml><MsgType>text</MsgType><Content>无发送者</Content><MsgId>1</MsgId></xml>",
        text_xml("没有编号", "abc"),  # MsgId not a number
        text_xml("<b>嵌套</b>", 1).replace("<![CDATA[<b>嵌套</b>]]>", "<b>嵌套</b>"),
        text_xml("坏的openid", 1, openid="o' OR 1=1"),
    ],
)
def test_a_body_that_is_not_a_message_is_400_and_writes_nothing(network, wechat, post, body):
    assert post(body).status_code == 400
    assert nothing_written() and not Person.objects.exists()


def test_bad_crypto_is_refused_and_writes_nothing(network, wechat, post, client):
    # A wrong msg_signature: 403.
    query = {**signed(), "encrypt_type": "aes", "msg_signature": "0" * 40}
    path = URL + "?" + "&".join(f"{k}={v}" for k, v in query.items())
    body = WeChatCrypto(TOKEN, AES_KEY, APP_ID).encrypt_message(text_xml("x", 7), "n0nce")
    assert client.post(path, data=body, content_type="text/xml").status_code == 403
    # Signed ciphertext that is not ours (another account's key): 400.
    other = WeChatCrypto(TOKEN, "A" * 43, APP_ID).encrypt_message(
        text_xml("x", 8), "n0nce", "1700000000"
    )
    signature = ElementTree.fromstring(other).findtext("MsgSignature")
    path = (
        URL
        + "?"
        + "&".join(
            f"{k}={v}"
            for k, v in {**signed(), "encrypt_type": "aes", "msg_signature": signature}.items()
        )
    )
    assert client.post(path, data=other, content_type="text/xml").status_code == 400
    assert nothing_written()


def test_subscribing_gets_a_welcome_and_a_picture_a_polite_reply_nothing_recorded(
    network, wechat, post
):
    subscribed = post(event_xml("subscribe"))
    assert subscribed.status_code == 200 and "2251885" in reply_content(subscribed)
    assert post(event_xml("unsubscribe")).content == b"success"
    picture = (
        f"<xml><ToUserName>{ACCOUNT}</ToUserName><FromUserName>{OPENID}</FromUserName>"
        "<CreateTime>1700000000</CreateTime><MsgType>image</MsgType>"
        "<PicUrl>http://example.org/p.jpg</PicUrl><MediaId>m1</MediaId><MsgId>9</MsgId></xml>"
    )
    answered = post(picture)
    assert answered.status_code == 200 and "文字" in reply_content(answered)
    assert nothing_written()


# --- replies out -----------------------------------------------------------------------------


@pytest.fixture
def held(network, operator, wechat, post):
    """A WeChat conversation operator1 holds."""
    at_console(operator)
    post(text_xml("我睡不着", 6000000000000000010))
    call = Call.objects.get(channel="wechat")
    services.accept_call(operator, call)
    return call


def test_a_reply_goes_out_through_the_customer_service_api(held, operator, wechat, reply):
    message = reply(held, operator, "我在，我听着。你愿意说说发生了什么吗？")
    token, send = wechat.seen
    assert token[:2] == ("GET", "/cgi-bin/token")
    assert token[2] == {"grant_type": ["client_credential"], "appid": [APP_ID], "secret": [SECRET]}
    assert send[:2] == ("POST", "/cgi-bin/message/custom/send")
    assert send[2] == {"access_token": ["ACCESS-TOKEN-1"]}
    assert send[3] == {
        "touser": OPENID,
        "msgtype": "text",
        "text": {"content": "我在，我听着。你愿意说说发生了什么吗？"},
    }
    message.refresh_from_db()
    assert (message.delivery_status, message.error_code) == ("sent", "")
    # The token is kept (Django's cache): the next reply asks for none.
    reply(held, operator, "慢慢说。")
    assert [s[1] for s in wechat.seen[2:]] == ["/cgi-bin/message/custom/send"]


def test_a_refused_send_is_failed_in_the_transcript(held, operator, wechat, reply, client_for):
    wechat.send_reply = {"errcode": 45015, "errmsg": "response out of time limit or subscription"}
    message = reply(held, operator, "你还在吗？")
    message.refresh_from_db()
    assert (message.delivery_status, message.error_code) == ("failed", "45015")
    rows = client_for(operator).get(f"/api/v1/calls/{held.pk}/messages/").json()
    rows = rows.get("results", rows) if isinstance(rows, dict) else rows
    shown = next(r for r in rows if r["id"] == message.pk)
    assert (shown["delivery_status"], shown["error_code"]) == ("failed", "45015")


def test_past_48_hours_a_reply_is_failed_without_asking_wechat(held, operator, wechat, reply):
    held.messages.filter(direction="in").update(created_at=timezone.now() - timedelta(hours=49))
    message = reply(held, operator, "你好")
    message.refresh_from_db()
    assert (message.delivery_status, message.error_code) == ("failed", "48h_window")
    assert wechat.seen == []


def test_when_wechat_cannot_be_reached_the_reply_is_failed(held, operator, wechat, reply, settings):
    settings.WECHAT_API_BASE_URL = "http://127.0.0.1:9/cgi-bin/"  # nothing listens there
    message = reply(held, operator, "你好")
    message.refresh_from_db()
    assert (message.delivery_status, message.error_code) == ("failed", "network")


@pytest.fixture
def resend(client_for, django_capture_on_commit_callbacks):
    """The 重发 request as the console sends it: the message goes out on commit."""

    def send(call, user, message_id):
        with django_capture_on_commit_callbacks(execute=True):
            return client_for(user).post(f"/api/v1/calls/{call.pk}/messages/{message_id}/resend/")

    return send


def test_a_refused_reply_is_sent_again_once_the_api_takes_it(held, operator, wechat, reply, resend):
    wechat.send_reply = {"errcode": 45015, "errmsg": "response out of time limit or subscription"}
    failed = reply(held, operator, "你还在吗？")
    wechat.send_reply = {"errcode": 0, "errmsg": "ok"}
    wechat.seen.clear()
    response = resend(held, operator, failed.pk)
    assert response.status_code == 201
    again = ContactMessage.objects.get(pk=response.json()["id"])
    failed.refresh_from_db()
    assert (again.delivery_status, again.resend_of, again.body) == ("sent", failed, "你还在吗？")
    assert (failed.delivery_status, failed.error_code) == ("failed", "45015")
    assert [(s[1], s[3]) for s in wechat.seen] == [
        (
            "/cgi-bin/message/custom/send",
            {"touser": OPENID, "msgtype": "text", "text": {"content": "你还在吗？"}},
        )
    ]


def test_a_reply_wechat_could_not_be_reached_for_is_sent_again(
    held, operator, wechat, reply, resend, settings, client_for
):
    api_base = settings.WECHAT_API_BASE_URL
    settings.WECHAT_API_BASE_URL = "http://127.0.0.1:9/cgi-bin/"  # nothing listens there
    failed = reply(held, operator, "你好")
    settings.WECHAT_API_BASE_URL = api_base
    rows = client_for(operator).get(f"/api/v1/calls/{held.pk}/messages/").json()
    shown = next(r for r in rows if r["id"] == failed.pk)
    assert (shown["error_code"], shown["error_text"]) == (
        "network",
        "WeChat's servers could not be reached",
    )
    assert resend(held, operator, failed.pk).status_code == 201
    assert failed.resent_as.delivery_status == "sent"
    assert wechat.seen[-1][3]["text"] == {"content": "你好"}


def test_past_48_hours_a_failed_reply_is_not_sent_again_until_the_person_writes(
    held, operator, wechat, reply, resend, post
):
    held.messages.filter(direction="in").update(created_at=timezone.now() - timedelta(hours=49))
    failed = reply(held, operator, "你好")
    response = resend(held, operator, failed.pk)
    assert response.status_code == 409 and response.json()["code"] == "48h_window"
    assert "the person must write first" in response.json()["detail"]
    assert wechat.seen == [] and not ContactMessage.objects.filter(resend_of=failed).exists()
    post(text_xml("我在", 6000000000000000013))  # they write: the window is open again
    assert resend(held, operator, failed.pk).status_code == 201
    assert wechat.seen[-1][3]["text"] == {"content": "你好"}


def test_ending_the_conversation_tells_the_person_through_the_api(
    held, operator, wechat, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.end_conversation(held, reason="operator", by_user=operator)
    ended = held.messages.filter(direction="system").order_by("pk").last()
    assert ended.delivery_status == "sent"
    assert wechat.seen[-1][3] == {
        "touser": OPENID,
        "msgtype": "text",
        "text": {"content": ended.body},
    }


def test_after_wrap_up_a_new_message_starts_a_new_conversation_in_the_same_case(
    held, operator, post
):
    services.triage_call(operator, held, screen=SCREEN_NONE, disposition="resolved")
    services.wrap_up_call(operator, held)
    post(text_xml("又是我", 6000000000000000011))
    second = Call.objects.filter(channel="wechat").exclude(pk=held.pk).get()
    assert second.person == held.person and second.case == held.case  # one person, one case
    assert second.messages.filter(direction="in").get().body == "又是我"


def test_a_merge_takes_the_openid_along(held, operator, coordinator, post):
    kept = Person.objects.create(name="小林", phone="+8613955550003")
    old = services.open_case(operator, person=kept, owning_organisation=held.hotline)
    Case.objects.filter(pk=old.pk).update(stage="closed", closed_at=timezone.now())
    services.merge_people(coordinator, kept, held.person, reason="同一个人，微信和电话都联系过")
    assert PersonWeChat.objects.get(openid=OPENID).person == kept
    post(text_xml("还是我", 6000000000000000012))  # the live conversation goes on
    assert held.messages.filter(direction="in").count() == 2


def test_the_api_lists_wechat_conversations(held, operator, client_for):
    api = client_for(operator)
    rows = api.get("/api/v1/calls/", {"channel": "wechat"}).json()["results"]
    assert [(r["id"], r["channel"]) for r in rows] == [(held.pk, "wechat")]
    assert rows[0]["from_number"] == ""  # the openid is no number to show
    assert api.get("/api/v1/calls/", {"channel": "sms"}).json()["results"] == []


def test_the_case_page_and_the_console_name_the_channel(held, operator, client):
    from tests.conftest import sign_in

    sign_in(client, operator)
    page = client.get(f"/care/cases/{held.case_id}/").content.decode()
    assert "我睡不着" in page and "文字会话" in page and "微信公众号" in page
    console = client.get("/console/").content.decode()
    assert 'data-t-wechat="微信"' in console


# --- retention -------------------------------------------------------------------------------


def test_retention_deletes_the_openid_and_the_transcript(held, operator, settings):
    settings.CASE_RETENTION_DAYS = 30
    person = held.person
    Call.objects.filter(pk=held.pk).update(status="completed", ended_at=timezone.now())
    Case.objects.filter(person=person).update(
        stage="closed", closed_at=timezone.now() - timedelta(days=40)
    )
    assert anonymise_expired(timezone.now()) == 1
    assert not PersonWeChat.objects.filter(person=person).exists()
    held.refresh_from_db()
    assert held.from_raw == "" and not held.messages.exists()
