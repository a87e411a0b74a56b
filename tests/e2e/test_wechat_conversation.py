"""A WeChat conversation on the operator console, in real Chromium at 1366x768 in Chinese: a
person writes to the Official Account (a signed callback POST in safe mode, encrypted with
wechatpy's WeChatCrypto), operator1 sees the offer card with the message, accepts, reads the
transcript labelled 微信 and replies. The server's WeChat client talks to a local http.server
standing in for api.weixin.qq.com, which records every request: the first customer-service
send is cut off (a network failure, shown in words with 重发 beside it), the resend goes out;
the person writes again and it appears live; ending the conversation tells the person."""

import time
import urllib.request
from urllib.parse import urlencode
from xml.etree import ElementTree

import pytest
from wechatpy.crypto import WeChatCrypto

from tests.e2e import servers
from tests.wechat_stub import AES_KEY, APP_ID, SECRET, SEND, TOKEN, signature, text_xml
from tests.wechat_stub import wechat_api as start_wechat_api

OPENID = "oE2E1234efgh5678ijkl9012mn"
ENDED = "本次对话已结束。如需帮助，欢迎随时再联系我们，或拨打热线2251885。"


@pytest.fixture(scope="module")
def wechat_api():
    with start_wechat_api() as server:
        yield server


@pytest.fixture(scope="module")
def daphne_server(tmp_path_factory, artifacts, wechat_api):
    yield from servers.serve(
        tmp_path_factory,
        artifacts,
        "e2e_wechat",
        WECHAT_APP_ID=APP_ID,
        WECHAT_APP_SECRET=SECRET,
        WECHAT_TOKEN=TOKEN,
        WECHAT_ENCODING_AES_KEY=AES_KEY,
        WECHAT_API_BASE_URL=wechat_api.base_url,
        WECHAT_TIMEOUT="3",
    )


def write(server, content: str, msg_id: int) -> str:
    """The person's text, as WeChat posts it in safe mode; the decrypted passive reply back."""
    crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)
    timestamp, nonce = str(int(time.time())), f"n{msg_id}"
    xml = text_xml(content, msg_id, OPENID)
    body = crypto.encrypt_message(xml, nonce, timestamp).encode()
    query = {
        "signature": signature(timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
        "openid": OPENID,
        "encrypt_type": "aes",
        "msg_signature": ElementTree.fromstring(body).findtext("MsgSignature"),
    }
    request = urllib.request.Request(
        server.url + "/wechat/callback/?" + urlencode(query),
        data=body,
        headers={"Content-Type": "text/xml"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        answer = response.read().decode()
    if answer == "success":
        return ""
    reply = ElementTree.fromstring(answer)
    plain = crypto.decrypt_message(
        answer, reply.findtext("MsgSignature"), reply.findtext("TimeStamp"), reply.findtext("Nonce")
    )
    return ElementTree.fromstring(plain).findtext("Content")


def sends(wechat_api) -> list[dict]:
    """The customer-service messages the server asked WeChat to send (the token is cached and
    fetched once, so it is not counted)."""
    return [body for method, path, _query, body in wechat_api.seen if path == SEND]


def text_of(content: str) -> dict:
    return {"touser": OPENID, "msgtype": "text", "text": {"content": content}}


def test_a_wechat_message_is_answered_a_failed_reply_sent_again_and_the_end_told(
    new_page, daphne_server, wechat_api, artifacts
):
    page = new_page("operator1")
    page.locator("#live-status[data-state=live]").wait_for()
    page.select_option("#presence", "available")
    page.locator("#presence-now").filter(has_text="空闲").wait_for()

    welcome = write(daphne_server, "我最近总是睡不着，觉得活着没意思", 7100000000000000001)
    assert "110" in welcome and "120" in welcome  # the passive reply, before anyone answers
    assert sends(wechat_api) == []

    item = page.locator("#queue li.queue-item").first
    item.wait_for()
    assert "微信" in item.inner_text()
    preview = page.locator("#queue li.queue-item.offered-to-me #offer-preview")
    preview.locator("li.msg-in").filter(has_text="活着没意思").wait_for()
    item.locator("button.accept").click()

    transcript = page.locator("#transcript")
    transcript.locator("li.msg-in").filter(has_text="活着没意思").wait_for()
    assert "110" in transcript.locator("li.msg-system").first.inner_text()
    held = page.locator("#held-conversations button")
    held.first.wait_for()
    assert held.count() == 1 and "微信" in held.first.inner_text()
    assert page.locator("#triage").is_visible()
    assert "wechat:" not in page.locator("#call-from").inner_text()  # no openid on show
    for control in ("#sp-hold", "#sp-hangup", "#sp-keypad"):
        assert not page.locator(control).is_visible(), control

    # The first reply: WeChat's line drops. The failure says so in words, with 重发 beside it.
    reply = "我在这里陪着你。睡不着有多久了？你现在安全吗？"
    wechat_api.cut = 1
    page.locator("#reply-body").fill(reply)
    page.locator("#reply-send").click()
    failed = transcript.locator("li.msg-out").filter(has_text=reply).first
    failed.filter(has_text="发送失败：连不上微信服务器").wait_for()
    assert sends(wechat_api) == [text_of(reply)]
    resend = failed.locator("button.resend-button")
    assert resend.inner_text() == "重发" and resend.is_visible()
    page.screenshot(path=str(artifacts / "wechat-reply-failed.png"))

    # The console's own request is cut off once: the words are beside the button, which stays.
    page.route("**/resend/", lambda route: route.abort())
    resend.click()
    failed.locator(".resend-error").filter(has_text="无法连接服务器").wait_for()
    failed.screenshot(path=str(artifacts / "wechat-resend-error.png"))
    page.unroute("**/resend/")
    assert sends(wechat_api) == [text_of(reply)]
    resend.click()
    again = transcript.locator("li.msg-out").nth(1)
    again.filter(has_text="已发送").wait_for()
    assert reply in again.inner_text() and "重发" in again.locator(".meta").inner_text()
    assert sends(wechat_api) == [text_of(reply), text_of(reply)]
    failed.filter(has_text="已重发").wait_for()
    assert "发送失败" in failed.inner_text()  # the failed one stays failed
    assert failed.locator("button.resend-button").count() == 0  # once

    # The person writes again: it appears without a reload.
    assert write(daphne_server, "大概两个星期了，我在宿舍，一个人", 7100000000000000002) == ""
    transcript.locator("li.msg-in").filter(has_text="我在宿舍").wait_for()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(artifacts / "wechat-conversation.png"))

    # A second reply fails too and is sent again from another tab: this screen follows, live
    # (the failed one says it was sent again, and its 重发 is gone).
    second = "你愿意和我说说，这两个星期发生了什么吗？"
    wechat_api.cut = 1
    page.locator("#reply-body").fill(second)
    page.locator("#reply-send").click()
    stale = transcript.locator("li.msg-out").filter(has_text=second).first
    stale.locator("button.resend-button").wait_for()
    elsewhere = page.evaluate(
        """async (body) => {
          const csrf = document.cookie.match(/csrftoken=([^;]+)/)[1];
          const json = {headers: {Accept: 'application/json'}};
          const mine = await fetch('/api/v1/calls/?view=mine', json).then(r => r.json());
          const call = (mine.results || mine)[0].id;
          const rows = await fetch(`/api/v1/calls/${call}/messages/`, json).then(r => r.json());
          const failed = rows.filter(m => m.body === body && m.delivery_status === 'failed')[0];
          const r = await fetch(`/api/v1/calls/${call}/messages/${failed.id}/resend/`, {
            method: 'POST', headers: {Accept: 'application/json', 'X-CSRFToken': csrf}});
          return r.status;
        }""",
        second,
    )
    assert elsewhere == 201
    stale.filter(has_text="已重发").wait_for()
    assert stale.locator("button.resend-button").count() == 0
    transcript.locator("li.msg-out").filter(has_text=second).nth(1).filter(
        has_text="已发送"
    ).wait_for()
    assert sends(wechat_api) == [text_of(reply), text_of(reply), text_of(second), text_of(second)]

    # 结束对话: the person is told through the customer-service API.
    end = page.locator("#end-conversation")
    assert end.inner_text() == "结束对话"
    end.click()
    page.locator("#conversation-ended:not([hidden])").wait_for()
    transcript.locator("li.msg-system").filter(has_text="本次对话已结束").wait_for()
    assert sends(wechat_api)[4:] == [text_of(ENDED)]
    assert page.locator("#reply-body").is_disabled()
