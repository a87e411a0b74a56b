"""The disposition "continue the existing referral" in real Chromium: not offered (and said why)
while the case has no open referral; offered, naming the referral, once it has one; and it
adds the call to that referral."""

import pytest

from tests.e2e import servers
from tests.realtime.http import Api

pytestmark = pytest.mark.e2e

NUMBER = "139 0077 1234"
SCREEN = (
    "wish_to_be_dead",
    "active_thoughts",
    "behaviour_3_months",
    "behaviour_ever",
    "harm_to_others",
    "in_danger_now",
)


@pytest.fixture(scope="module")
def daphne_server(own_daphne_server):
    return own_daphne_server


def take_a_call(page) -> None:
    if page.locator("details.manual[open]").count() == 0:
        page.locator("details.manual summary").click()
    form = page.locator("#manual-call")
    form.locator("input[name=from_number]").fill(NUMBER)
    form.locator("button[type=submit]").click()
    page.locator("#queue li.queue-item button.accept").first.click()
    page.locator("#triage:not([hidden])").wait_for()


def answer_screen(page, yes=("wish_to_be_dead",)) -> None:
    screen = page.locator("#triage")
    for name in SCREEN:
        if name not in yes:
            screen.locator(f"input[name={name}][value=no]").check()
    for name in yes:
        screen.locator(f"input[name={name}][value=yes]").check()


def test_continue_the_existing_referral_is_offered_only_when_there_is_one(
    new_page, daphne_server, artifacts
):
    # operator1 alone on duty (the demo's operator2 starts available and would get the offer).
    Api(daphne_server.url, "operator2", servers.DEMO_PASSWORD).call(
        "PUT", "/api/v1/operators/me/presence/", {"status": "offline"}
    )
    page = new_page("operator1")
    page.locator("#live-status[data-state=live]").wait_for()

    # First call: no referral yet -> the button is not there, a line says why.
    take_a_call(page)
    page.locator("#no-open-referral:not([hidden])").wait_for()
    assert page.locator("#continue-referral").is_hidden()
    answer_screen(page)
    page.locator("#derived-risk").filter(has_text="低").wait_for()
    page.locator("#triage textarea[name=notes]").fill("与室友冲突，愿意接受咨询。")
    page.locator("#triage button[value=refer]").click()
    page.locator("#triaged:not([hidden])").wait_for()
    page.locator("#wrap-up button[type=submit]").click()
    page.locator("#no-call:not([hidden])").wait_for()

    # The same person calls again, worse: the open referral is offered and named.
    take_a_call(page)
    button = page.locator("#continue-referral")
    button.wait_for()
    assert page.locator("#no-open-referral").is_hidden()
    api = Api(daphne_server.url, "operator1", servers.DEMO_PASSWORD)
    case = api.call("GET", "/api/v1/calls/?view=mine&limit=1")["results"][0]["case"]
    (referral,) = api.call("GET", f"/api/v1/referrals/?case={case}&active=1")["results"]
    assert referral["receiver_name"] in button.inner_text()
    answer_screen(page, yes=("wish_to_be_dead", "behaviour_ever"))
    page.locator("#derived-risk").filter(has_text="中").wait_for()
    page.screenshot(path=artifacts / "operator-console-continue-referral.png")
    # The risk and the dispositions stay in view at 1366x768 (the screen column scrolls).
    for selector in ("#derived-risk", "#continue-referral", "#one-key", "#call-person"):
        box = page.locator(selector).bounding_box()
        assert box and box["y"] >= 0 and box["y"] + box["height"] <= 768, selector
    button.click()
    page.locator("#triaged:not([hidden])").wait_for()
    assert "继续现有转介" in page.locator("#triage-result").inner_text()
    (same,) = api.call("GET", f"/api/v1/referrals/?case={case}&active=1")["results"]
    assert same["id"] == referral["id"]
    assert same["urgency"] in ("moderate", "high")
    page.locator("#wrap-up button[type=submit]").click()
    page.locator("#no-call:not([hidden])").wait_for()
