"""Presence follows the person, in real Chromium against a real Daphne with its worker: a closed
browser signs its operator off and the next call goes to the one still there; a caller nobody
can answer alerts the coordinator's board."""

import time

import pytest

from tests.e2e import servers
from tests.realtime.http import Api

GRACE = 3


@pytest.fixture(scope="module")
def daphne_server(tmp_path_factory, artifacts):
    """Short clocks so the test waits seconds, not minutes."""
    yield from servers.serve(
        tmp_path_factory,
        artifacts,
        "e2e_presence",
        TWILIO_AUTH_TOKEN=servers.TWILIO_TOKEN,
        HOTLINE_PRESENCE_GRACE_SECONDS=str(GRACE),
        REALTIME_HEARTBEAT_SECONDS="1",
        HOTLINE_WAIT_ALERT_SECONDS="4",
        HOTLINE_OFFER_TIMEOUT_SECONDS="60",
    )


def incoming_call(server, call_sid: str, from_number: str) -> None:
    assert "<Enqueue" in servers.incoming_call(server, call_sid, from_number)


def wait_until(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"not within {timeout} s: {what}")


def presence(api: Api) -> str:
    return api.call("GET", "/api/v1/operators/me/presence/")["status"]


def set_available(page) -> None:
    page.locator("#live-status[data-state=live]").wait_for()
    page.select_option("#presence", "available")
    page.locator("#presence-now").filter(has_text="空闲").wait_for()


def test_closing_a_browser_signs_its_operator_off_and_the_next_call_goes_to_the_other(
    new_page, daphne_server, artifacts
):
    first = new_page("operator1")
    second = new_page("operator2")
    # operator1 first: the longest idle, so the next call would be theirs if presence lied.
    set_available(first)
    set_available(second)
    api1 = Api(daphne_server.url, "operator1", servers.DEMO_PASSWORD)
    api2 = Api(daphne_server.url, "operator2", servers.DEMO_PASSWORD)
    assert presence(api1) == presence(api2) == "available"

    # A reload is not leaving: the operator stays available through it and past the grace.
    first.reload()
    first.locator("#live-status[data-state=live]").wait_for()
    time.sleep(GRACE + 2)
    assert presence(api1) == "available"

    closed_at = time.monotonic()
    first.context.close()  # the browser goes; nobody pressed "offline"
    wait_until(lambda: presence(api1) == "offline", GRACE + 10, "operator1 offline")
    assert time.monotonic() - closed_at >= GRACE - 0.5  # not before the grace

    incoming_call(daphne_server, "CA" + "presence1".rjust(32, "0"), "+8613900000881")
    mine = second.locator("#queue li.queue-item.offered-to-me")
    mine.wait_for()
    countdown = mine.locator(".offer-countdown")
    countdown.filter(has_text="秒内接听").wait_for()
    first_reading = countdown.inner_text()
    # It counts down (a second or two; a busy machine may render a tick late).
    for _ in range(50):
        second.wait_for_timeout(200)
        if countdown.inner_text() != first_reading:
            break
    assert countdown.inner_text() != first_reading
    second.screenshot(path=artifacts / "presence-offered-to-operator2.png")
    queue = api2.call("GET", "/api/v1/calls/?view=queue")["results"]
    [call] = [c for c in queue if c["call_sid"].endswith("presence1")]
    assert (
        call["status"] == "offered"
        and call["offered_to"] == api2.call("GET", "/api/v1/operators/me/presence/")["operator"]
    )
    mine.locator("button.accept").click()
    second.locator("#call:not([hidden])").wait_for()


def test_a_caller_nobody_can_answer_raises_an_alert_on_the_coordinators_board(
    new_page, daphne_server, artifacts
):
    # operator1 is offline and operator2 on the call from the test above: nobody is available.
    board = new_page("coordinator1")
    board.goto(daphne_server.url + "/coordination/")
    coordinator = Api(daphne_server.url, "coordinator1", servers.DEMO_PASSWORD)
    incoming_call(daphne_server, "CA" + "presence2".rjust(32, "0"), "+8613900000882")

    def waiting_alert():
        alerts = coordinator.call("GET", "/api/v1/alerts/?open=1")["results"]
        return [a for a in alerts if a["kind"] == "caller_waiting"]

    [alert] = wait_until(waiting_alert, 15, "a caller_waiting alert")
    assert alert["severity"] == "critical"
    time.sleep(2)
    assert len(waiting_alert()) == 1  # once, not once a second
    # The board is live: the alert appears without a reload.
    row = board.locator(f"#alert-board [data-alert='{alert['id']}']")
    row.filter(has_text="无空闲接线员").wait_for()
    board.screenshot(path=artifacts / "presence-board-wait-alert.png")
