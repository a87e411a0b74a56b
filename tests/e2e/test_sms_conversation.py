"""An SMS conversation on the operator console, in real Chromium at 1366x768 in Chinese: a text
arrives by the signed webhook and is offered to operator1 with the text on the offer card;
they accept it (no phone controls beside it), read the transcript beside the risk screen,
reply (the server records the SMS; the SDK's own request is checked in
tests/hotline/test_sms_conversation.py), see the delivery come back and the person write again,
then triage and wrap up."""

import pytest

from tests.e2e import servers

TEXTER = "+8613912349901"


@pytest.fixture(scope="module")
def daphne_server(tmp_path_factory, artifacts):
    yield from servers.serve(
        tmp_path_factory, artifacts, "e2e_sms", TWILIO_AUTH_TOKEN=servers.TWILIO_TOKEN
    )


def text_in(server, sid: str, body: str) -> int:
    params = {"MessageSid": sid, "From": TEXTER, "To": "+865722251885", "Body": body}
    return servers.signed_post(server, "/twilio/sms/incoming/", params)[0]


def test_an_sms_is_accepted_answered_and_triaged_on_the_console(new_page, daphne_server, artifacts):
    page = new_page("operator1")
    page.locator("#live-status[data-state=live]").wait_for()
    page.select_option("#presence", "available")
    page.locator("#presence-now").filter(has_text="空闲").wait_for()

    assert text_in(daphne_server, "SM" + "e2e1".rjust(32, "0"), "我撑不下去了，不知道找谁说") == 200
    item = page.locator("#queue li.queue-item").first
    item.wait_for()
    assert "短信" in item.inner_text()
    # Offered to operator1: the card shows the text before they accept, the newest last.
    preview = page.locator("#queue li.queue-item.offered-to-me #offer-preview")
    preview.locator("li.msg-in").filter(has_text="我撑不下去了").wait_for()
    assert "我撑不下去了" in preview.locator("li").all_inner_texts()[-1]
    # The page, not the card: the queue redraws on each event, which detaches the old card.
    page.screenshot(path=str(artifacts / "sms-offer-preview.png"))
    item.locator("button.accept").click()

    conversation = page.locator("#conversation")
    conversation.wait_for()
    transcript = page.locator("#transcript")
    transcript.locator("li.msg-in").filter(has_text="我撑不下去了").wait_for()
    # The welcome that went out names 110/120; it shows as a system message, sent.
    assert "110" in transcript.locator("li.msg-system").first.inner_text()
    assert page.locator("#triage").is_visible()  # the screen beside the transcript
    for control in ("#sp-hold", "#sp-hangup", "#sp-keypad", "#conf-hold", "#conf-hang-up"):
        assert not page.locator(control).is_visible(), control  # no phone beside a text
    assert page.locator("#one-key").is_visible()
    held = page.locator("#held-conversations button")
    held.first.wait_for()
    assert held.count() == 1 and "短信" in held.first.inner_text()

    page.locator("#reply-body").fill("我在这里陪着你。现在你身边有人吗？你现在安全吗？")
    page.locator("#reply-send").click()
    sent = transcript.locator("li.msg-out").filter(has_text="我在这里陪着你")
    sent.wait_for()
    sent.filter(has_text="已发送").wait_for()

    # Twilio reports the delivery: the transcript says so, live.
    sid = page.evaluate(
        """async () => {
          const json = {headers: {Accept: 'application/json'}};
          const mine = await fetch('/api/v1/calls/?view=mine', json).then(r => r.json());
          const call = (mine.results || mine)[0].id;
          const rows = await fetch(`/api/v1/calls/${call}/messages/`, json)
            .then(r => r.json());
          return rows.filter(m => m.direction === 'out').pop().id;
        }"""
    )
    assert sid
    # The console gateway (no Twilio account on this server) named it CONSOLE-SM<id>.
    status, _ = servers.signed_post(
        daphne_server,
        "/twilio/sms/status/",
        {"MessageSid": f"CONSOLE-SM{sid:08d}", "MessageStatus": "delivered"},
    )
    assert status == 204
    sent.filter(has_text="已送达").wait_for()

    # The person writes again: it appears without a reload.
    assert text_in(daphne_server, "SM" + "e2e2".rjust(32, "0"), "家里没人，我在宿舍") == 200
    transcript.locator("li.msg-in").filter(has_text="我在宿舍").wait_for()
    page.wait_for_load_state("networkidle")
    assert "已送达" in sent.inner_text()  # no late answer takes the delivery back
    page.screenshot(path=str(artifacts / "sms-conversation.png"))

    # An empty reply is refused beside the box, nothing sent.
    page.locator("#reply-body").fill("   ")
    page.locator("#reply-send").click()
    assert page.locator("#reply-body").get_attribute("aria-invalid") == "true"

    screen = page.locator("#triage")
    for name in (
        "active_thoughts",
        "behaviour_3_months",
        "behaviour_ever",
        "harm_to_others",
        "in_danger_now",
    ):
        screen.locator(f"input[name={name}][value=no]").check()
    screen.locator("input[name=wish_to_be_dead][value=yes]").check()
    page.locator("#derived-risk").filter(has_text="低").wait_for()
    screen.locator("button[value=resolved]").click()
    page.locator("#triaged:not([hidden])").wait_for()
    page.locator("#wrap-up button[type=submit]").click()
    page.locator("#no-call:not([hidden])").wait_for()
