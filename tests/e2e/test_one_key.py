"""One key in real Chromium at 1366x768: an anonymous caller, nothing typed, one press and one
confirm; police, ambulance and expert legs show beside the button, in view."""

import pytest

from tests.e2e import servers

IN_VIEW = """(sel) => {
  const r = document.querySelector(sel).getBoundingClientRect();
  return r.width > 0 && r.height > 0 && r.top >= 0 && r.left >= 0
    && r.bottom <= window.innerHeight && r.right <= window.innerWidth;
}"""


@pytest.fixture(scope="module")
def daphne_server(tmp_path_factory, artifacts):
    yield from servers.serve(
        tmp_path_factory, artifacts, "e2e_one_key", TWILIO_AUTH_TOKEN=servers.TWILIO_TOKEN
    )


def test_one_key_with_nothing_typed_sends_police_ambulance_and_expert(new_page, daphne_server):
    page = new_page("operator2")
    page.locator("#live-status[data-state=live]").wait_for()
    page.select_option("#presence", "available")
    page.locator("#presence-now").filter(has_text="空闲").wait_for()

    servers.incoming_call(daphne_server, "CA" + "onekey1".rjust(32, "0"), "+8613912340001")
    # Merely offered: the button is there already, in view.
    page.locator("#queue li.offered-to-me").wait_for()
    page.locator("#one-key:visible").wait_for()
    assert page.evaluate(IN_VIEW, "#one-key")
    assert "未评估" in page.locator("#queue li.queue-item").first.inner_text()
    page.screenshot(path="/tmp/onekey-offered.png")

    page.locator("#queue li.offered-to-me button.accept").click()
    page.locator("#triage:not([hidden])").wait_for()
    assert page.locator("#call-risk").inner_text() == "未评估"
    page.wait_for_function("() => document.querySelector('#talk-time').textContent !== '0:00'")
    assert page.evaluate(IN_VIEW, "#one-key")

    page.locator("#one-key").click()
    page.locator("#one-key-confirm:not([hidden])").wait_for()
    assert page.evaluate(IN_VIEW, "#one-key-go")
    page.screenshot(path="/tmp/onekey-confirm.png")
    page.locator("#one-key-go").click()

    legs = page.locator("#dispatch-legs li")
    page.locator("#dispatch-legs li[data-kind=expert]").wait_for()
    kinds = {legs.nth(i).get_attribute("data-kind") for i in range(legs.count())}
    assert kinds == {"police", "ambulance", "expert"}
    text = page.locator("#one-key-result").inner_text()
    assert "湖州市公安局110指挥中心" in text and "湖州市急救指挥中心" in text
    assert "地点不明" in text and "已通知" in text
    for kind in ("police", "ambulance", "expert"):
        assert page.evaluate(IN_VIEW, f"#dispatch-legs li[data-kind={kind}]")
    assert page.locator("#one-key-error").inner_text() == ""
    page.screenshot(path="/tmp/onekey-dispatched.png")

    # The place becomes known: picked by pinyin initials; the police leg moves to the district
    # and the community is added, live.
    page.locator("#set-place").click()
    page.locator("#place-search").fill("yhsq")
    page.locator("#place-results li[data-code='330502001001']").click()
    page.locator("#one-key-go").click()
    page.locator("#dispatch-legs li[data-kind=community]").wait_for()
    assert "吴兴区公安110指挥中心" in page.locator("#dispatch-legs").inner_text()
    assert "月河社区" in page.locator("#dispatch-place").inner_text()
    page.screenshot(path="/tmp/onekey-place-set.png")


def test_leaving_out_the_ambulance_without_a_reason_is_named_beside_the_field(
    new_page, daphne_server
):
    page = new_page("operator1")
    page.locator("#live-status[data-state=live]").wait_for()
    servers.incoming_call(daphne_server, "CA" + "onekey2".rjust(32, "0"), "+8613912340002")
    page.locator("#queue li.queue-item").first.wait_for()
    page.locator("#accept-next").click()
    page.locator("#triage:not([hidden])").wait_for()
    page.locator("#one-key").click()
    page.locator("#one-key-options summary").click()
    page.locator("#with-ambulance").uncheck()
    page.locator("#one-key-go").click()
    beside = page.locator("#leave-out-reason + .field-error")
    beside.filter(has_text="不需要的原因").wait_for()
    assert page.locator("#leave-out-reason.invalid").count() == 1
    assert page.locator("#leave-out-reason").get_attribute("aria-invalid") == "true"
    assert page.locator("#one-key-error").inner_text()
    assert page.evaluate(IN_VIEW, "#one-key-error")
    page.screenshot(path="/tmp/onekey-reason-missing.png")
    page.locator("#leave-out-reason").fill("第三方来电，无伤情")
    page.locator("#one-key-go").click()
    page.locator("#dispatch-legs li[data-kind=police]").wait_for()
    assert page.locator("#dispatch-legs li[data-kind=ambulance]").count() == 0
    assert "第三方来电" in page.locator("#dispatch-warnings").inner_text()
