"""Call-backs in real Chromium: a caller hangs up while waiting (the signed Twilio status
webhook), the call-back appears live on the console, the operator dials it, records "no answer"
(the task stays open), dials again, reaches the person and triages."""

import pytest

from tests.e2e import servers
from tests.realtime.http import Api


@pytest.fixture(scope="module")
def daphne_server(tmp_path_factory, artifacts):
    """A server of its own, with a Twilio auth token so signed webhooks are accepted."""
    yield from servers.serve(
        tmp_path_factory, artifacts, "e2e_callbacks", TWILIO_AUTH_TOKEN=servers.TWILIO_TOKEN
    )


def test_a_hung_up_caller_is_called_back_twice_and_triaged(new_page, daphne_server, artifacts):
    # operator2 (available in the demo) stays free: taking a call-back must not offer it to them.
    page = new_page("operator1")
    page.locator("#live-status[data-state=live]").wait_for()
    assert page.locator("#callbacks li.callback-item").count() == 0

    sid = "CA" + "cb1".rjust(32, "0")
    number = "+8613700001234"  # a first-time caller
    servers.signed_post(
        daphne_server,
        "/twilio/voice/incoming/",
        {"CallSid": sid, "From": number, "To": "+865722251885"},
    )
    page.locator("#queue li.queue-item").first.wait_for()
    # The caller hangs up before anyone answers.
    status, _ = servers.signed_post(
        daphne_server, "/twilio/voice/status/", {"CallSid": sid, "CallStatus": "completed"}
    )
    assert status == 204
    item = page.locator("#callbacks li.callback-item")
    item.first.wait_for()  # live, no reload
    page.wait_for_function("() => !document.querySelector('#queue li.queue-item')")
    assert number in item.first.inner_text()
    assert page.locator("#callback-count").inner_text() == "1"
    page.screenshot(path=artifacts / "console-callback-listed.png")

    # First try: nobody answers; the task stays open with one attempt.
    item.first.locator("button.take-callback").click()
    page.locator("#call:not([hidden])").wait_for()
    attempt = page.locator("#callback-attempt")
    attempt.wait_for()
    assert number in page.locator("#call-from").inner_text()
    page.screenshot(path=artifacts / "console-callback-dialling.png")
    attempt.locator("select[name=outcome]").select_option("no_answer")
    attempt.locator("input[name=note]").fill("响铃无人接")
    attempt.locator("button[type=submit]").click()
    page.locator("#no-call:not([hidden])").wait_for()
    api = Api(daphne_server.url, "operator1", servers.DEMO_PASSWORD)
    (task,) = api.call("GET", "/api/v1/callbacks/")["results"]
    assert task["status"] == "open"
    assert [a["outcome"] for a in task["attempts"]] == ["no_answer"]
    page.locator("#callbacks .attempts").filter(has_text="1").wait_for()

    # Second try: reached; the screen opens and the call is triaged like any other.
    item.first.locator("button.take-callback").click()
    attempt.wait_for()
    attempt.locator("select[name=outcome]").select_option("reached")
    attempt.locator("button[type=submit]").click()
    attempt.wait_for(state="hidden")
    screen = page.locator("#triage")
    screen.wait_for()
    for name in (
        "wish_to_be_dead",
        "active_thoughts",
        "behaviour_3_months",
        "behaviour_ever",
        "harm_to_others",
        "in_danger_now",
    ):
        screen.locator(f"input[name={name}][value=no]").check()
    screen.locator("button[value=resolved]").click()
    page.locator("#triaged:not([hidden])").wait_for()
    page.locator("#wrap-up button[type=submit]").click()
    page.locator("#no-call:not([hidden])").wait_for()
    page.wait_for_function("() => !document.querySelector('#callbacks li.callback-item')")
    assert page.locator("#callback-count").inner_text() == "0"

    (task,) = api.call("GET", "/api/v1/callbacks/?status=done")["results"]
    assert task["outcome"] == "reached"
    assert [a["outcome"] for a in task["attempts"]] == ["no_answer", "reached"]
