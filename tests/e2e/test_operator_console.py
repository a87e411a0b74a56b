"""The operator console in real Chromium: a Twilio call arrives, one operator takes and triages it,
the other sees it leave the queue."""

import pytest

from tests.e2e import servers


@pytest.fixture(scope="module")
def daphne_server(tmp_path_factory, artifacts):
    """A server of its own, with a Twilio auth token so signed webhooks are accepted."""
    yield from servers.serve(
        tmp_path_factory, artifacts, "e2e_console", TWILIO_AUTH_TOKEN=servers.TWILIO_TOKEN
    )


def test_a_call_arrives_is_taken_by_one_operator_triaged_and_wrapped_up(
    new_page, daphne_server, artifacts
):
    first = new_page("operator1")
    second = new_page("operator2")
    for page in (first, second):
        page.locator("#live-status[data-state=live]").wait_for()
        assert page.locator("#queue li.queue-item").count() == 0

    twiml = servers.incoming_call(daphne_server, "CA" + "e2e".rjust(32, "0"), "+8613800000002")
    assert "<Enqueue" in twiml
    item = "#queue li.queue-item"
    for page in (first, second):
        page.locator(item).first.wait_for()
        # A known caller: the demo's moderate-risk case is shown before anyone speaks.
        assert "小周" in page.locator(item).first.inner_text()

    first.locator(item).first.locator("button.accept").click()
    first.locator("#call:not([hidden])").wait_for()
    assert first.locator("#call-person").inner_text() == "小周"
    second.wait_for_function("() => document.querySelectorAll('#queue li.queue-item').length === 0")

    # The screen: a wish to be dead, nothing more -> the server derives "low".
    screen = first.locator("#triage")
    for item_name in (
        "active_thoughts",
        "behaviour_3_months",
        "behaviour_ever",
        "harm_to_others",
        "in_danger_now",
    ):
        screen.locator(f"input[name={item_name}][value=no]").check()
    screen.locator("input[name=wish_to_be_dead][value=yes]").check()
    first.locator("#derived-risk").filter(has_text="低").wait_for()
    screen.locator("textarea[name=notes]").fill("考试压力，愿意接受回访。")
    first.screenshot(path=artifacts / "operator-console.png")
    screen.locator("button[value=resolved]").click()

    first.locator("#triaged:not([hidden])").wait_for()
    assert "低" in first.locator("#triage-result").inner_text()
    first.locator("#wrap-up button[type=submit]").click()
    first.locator("#no-call:not([hidden])").wait_for()


def test_a_disposition_that_does_not_fit_the_risk_is_refused_with_a_message(
    new_page, daphne_server
):
    page = new_page("operator1")
    page.locator("#live-status[data-state=live]").wait_for()
    servers.incoming_call(daphne_server, "CA" + "e2e2".rjust(32, "0"), "+8613900000777")
    page.locator("#queue li.queue-item").first.wait_for()
    page.locator("#accept-next").click()
    page.locator("#triage:not([hidden])").wait_for()
    screen = page.locator("#triage")
    for item_name in ("wish_to_be_dead", "active_thoughts", "behaviour_ever", "harm_to_others"):
        screen.locator(f"input[name={item_name}][value=no]").check()
    screen.locator("input[name=behaviour_3_months][value=yes]").check()  # -> high
    screen.locator("input[name=in_danger_now][value=no]").check()
    page.locator("#derived-risk").filter(has_text="高").wait_for()
    screen.locator("button[value=resolved]").click()
    page.locator("#triage-error").filter(has_text="高风险").wait_for()
    assert page.locator("#triaged").is_hidden()


def test_the_one_key_button_dispatches_at_once_even_before_the_screen_is_complete(
    new_page, daphne_server, artifacts
):
    from tests.realtime.http import Api

    page = new_page("operator2")
    page.locator("#live-status[data-state=live]").wait_for()
    servers.incoming_call(
        daphne_server, "CA" + "e2e3".rjust(32, "0"), "+8613800000003"
    )  # 小陈, high
    page.locator("#queue li.queue-item").first.wait_for()
    page.locator("#accept-next").click()
    page.locator("#triage:not([hidden])").wait_for()
    page.locator("#triage input[name=location]").fill("长兴县泗安镇泗安村12号")
    page.locator("#one-key").click()
    page.locator("#one-key-go").click()  # the in-page confirm
    # The screen was not answered: the triage waits, the dispatch does not.
    page.locator("#dispatch-legs li[data-kind=community]").wait_for()
    page.screenshot(path=artifacts / "operator-console-one-key.png")
    dispatches = Api(daphne_server.url, "operator2", servers.DEMO_PASSWORD).call(
        "GET", "/api/v1/dispatches/"
    )["results"]
    assert len(dispatches) == 1
    assert dispatches[0]["address"] == "长兴县泗安镇泗安村12号"
    assert {leg["kind"] for leg in dispatches[0]["legs"]} >= {"police", "ambulance", "community"}
