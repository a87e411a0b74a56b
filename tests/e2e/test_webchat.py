"""Web chat in real Chromium: a young visitor on a phone says they are not safe and sees the
numbers at once; the chat is offered to operator1, whose offer card shows the pre-chat answers
and the visitor's first words before they accept; they take it beside the risk screen (no phone
controls beside a chat), answer, triage it high and refer it; counsellor1 reads the referral with
the transcript."""

from pathlib import Path

import pytest

from tests.e2e.conftest import ARTIFACTS

PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}


@pytest.fixture(scope="module")
def daphne_server(own_daphne_server):
    """operator1 must be free to take the chat (never beside a voice call); on the session's
    shared network an earlier module may leave them holding a call: a network of its own."""
    return own_daphne_server


@pytest.fixture
def phone(browser, daphne_server):
    """A visitor's phone: a fresh context of its own (no log-in); CSP violations fail the test."""
    violations = []
    context = browser.new_context(locale="zh-CN", **PHONE)
    context.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page = context.new_page()
    yield page
    context.close()
    assert not violations, violations


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=path, full_page=True)
    return path


def test_a_visitor_not_safe_is_answered_triaged_high_and_referred_with_the_transcript(
    phone, new_page, daphne_server
):
    base = daphne_server.url
    operator = new_page("operator1")
    operator.locator("#live-status[data-state=live]").wait_for()
    operator.select_option("#presence", "available")  # at the console: the chat is offered
    operator.locator("#presence-now").filter(has_text="空闲").wait_for()
    queued_before = operator.locator("#queue li.queue-item").count()

    # The visitor: consent, then "are you safe right now?" - no. The numbers show at once.
    phone.goto(base + "/chat/")
    assert phone.locator("h1").inner_text() == "网上咨询"
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scroll
    phone.locator("#agree").click()
    phone.locator("input[name=safe][value=no]").check()
    danger = phone.locator("#danger")
    danger.wait_for()
    for number in ("2251885", "12356", "110", "120"):
        assert danger.locator(f'a[href="tel:{number}"]').is_visible()
    phone.locator("input[name=age_group][value='14_17']").check()
    phone.locator("#district").select_option(label="吴兴区")
    phone.locator("#prechat-form button[type=submit]").click()
    phone.locator("#status").filter(has_text="排队").wait_for()
    assert danger.is_visible()  # still there while waiting
    phone.locator("#body").fill("我现在很害怕，<b>不想活了</b>")
    phone.locator("#composer button[type=submit]").click()
    phone.locator("li.msg-mine").filter(has_text="不想活了").wait_for()
    shot(phone, "webchat-visitor-phone.png")

    # operator1: the chat is offered to them, first in the queue (not safe). Before accepting,
    # the offer card shows the pre-chat answers and the visitor's words, read only, newest last.
    operator.wait_for_function(
        f"() => document.querySelectorAll('#queue li.queue-item').length > {queued_before}"
    )
    item = operator.locator("#queue li.queue-item.offered-to-me").first
    preview = item.locator("#offer-preview")
    preview.locator("li.msg-in").filter(has_text="<b>不想活了</b>").wait_for()  # as text
    assert "现在安全吗：不，我现在不安全" in preview.locator("li.msg-system").first.inner_text()
    words = preview.locator("li").all_inner_texts()
    assert "不想活了" in words[-1]  # the newest at the bottom
    assert preview.locator("li.msg-in").last.is_visible()  # scrolled into view, not cut off
    assert preview.locator("textarea, input, button").count() == 0  # read only
    assert operator.locator("#no-call").is_visible()  # nothing accepted yet
    assert "自述现在不安全" in item.inner_text()  # why it is first, in words
    # The page, not the card: the queue redraws on each event, which detaches the old card.
    shot(operator, "webchat-offer-console.png")

    # The visitor writes again while it is offered: the preview follows.
    phone.locator("#body").fill("我在学校宿舍")
    phone.locator("#composer button[type=submit]").click()
    preview.locator("li.msg-in").filter(has_text="我在学校宿舍").wait_for()
    assert "我在学校宿舍" in preview.locator("li").all_inner_texts()[-1]

    # Accepted: the conversation beside the risk screen, and no phone controls beside it.
    item.locator("button.accept").click()
    operator.locator("#conversation:not([hidden])").wait_for()
    operator.locator("#transcript").filter(has_text="<b>不想活了</b>").wait_for()  # as text
    operator.locator("#triage:not([hidden])").wait_for()
    operator.locator("#offer-preview").wait_for(state="detached")
    for control in ("#sp-hold", "#sp-hangup", "#sp-keypad", "#conf-hold", "#conf-hang-up"):
        assert not operator.locator(control).is_visible(), control
    assert not operator.locator("#softphone").is_visible()
    for words in ("挂断", "保持", "转接"):  # by what a tired eye reads, wherever it is
        assert operator.get_by_role("button", name=words).filter(visible=True).count() == 0
    assert operator.locator("#end-conversation").is_visible()  # the chat's own 结束会话
    assert operator.locator("#one-key").is_visible()  # one-key emergency stays
    operator.locator("#reply-body").fill("我在这里陪着你。你现在在哪里？身边有人吗？")
    operator.locator("#reply-send").click()

    # The visitor sees who joined and the answer.
    phone.locator("#status").filter(has_text="已加入").wait_for()
    phone.locator("li.msg-theirs").filter(has_text="我在这里陪着你").wait_for()

    # Triage: attempts in the last three months -> high; refer to counselling.
    screen = operator.locator("#triage")
    for name in ("wish_to_be_dead", "active_thoughts", "behaviour_ever", "harm_to_others"):
        screen.locator(f"input[name={name}][value=no]").check()
    screen.locator("input[name=behaviour_3_months][value=yes]").check()
    screen.locator("input[name=in_danger_now][value=no]").check()
    operator.locator("#derived-risk").filter(has_text="高").wait_for()
    screen.locator("textarea[name=notes]").fill("网上咨询：近三个月有自伤行为，同意转介。")
    shot(operator, "webchat-operator-console.png")
    screen.locator("button[value=refer]").click()
    operator.locator("#triaged:not([hidden])").wait_for()
    assert "高" in operator.locator("#triage-result").inner_text()

    # counsellor1: the referral in the inbox, and the transcript on the case page.
    counsellor = new_page("counsellor1")
    counsellor.goto(base + "/care/counselling/")
    row = counsellor.locator("tr.referral").filter(has_text="网上咨询：近三个月有自伤行为")
    row.wait_for()
    with counsellor.expect_navigation():
        row.locator("a[href^='/care/cases/']").first.click()
    timeline = counsellor.locator("#timeline")
    assert "我现在很害怕，<b>不想活了</b>" in timeline.inner_text()
    assert "我在这里陪着你" in timeline.inner_text()
    shot(counsellor, "webchat-counsellor-case.png")
