"""督导 in real Chromium, two people at two screens: operator1 on a live call presses "need
help"; coordinator1's board shows the alert, listens with one click, whispers, barges in and
leaves; each step is said beside the call and lands on the case's timeline."""

import shutil

import pytest

from tests.e2e import servers
from tests.realtime.http import Api


@pytest.fixture(scope="module")
def daphne_server(tmp_path_factory, artifacts):
    """A server of its own, with a Twilio auth token so signed webhooks are accepted (no
    account: the conference is recorded by the console gateway)."""
    yield from servers.serve(
        tmp_path_factory, artifacts, "e2e_supervision", TWILIO_AUTH_TOKEN=servers.TWILIO_TOKEN
    )


def shoot(page, artifacts, name: str) -> None:
    path = artifacts / f"supervision-{name}.png"
    page.screenshot(path=path)
    shutil.copy(path, f"/tmp/supervision-{name}.png")


def test_need_help_then_listen_whisper_barge_and_leave(new_page, daphne_server, artifacts):
    console = new_page("operator1")
    board = new_page("coordinator1")
    board.goto(daphne_server.url + "/coordination/")
    for page in (console, board):
        page.locator("#live-status[data-state=live]").wait_for()
    assert board.locator("#live-calls").is_visible()

    servers.incoming_call(daphne_server, "CA" + "5up".rjust(32, "0"), "+8613800000066")
    item = console.locator("#queue li.queue-item").first
    item.wait_for()
    item.locator("button.accept").click()
    console.locator("#call:not([hidden])").wait_for()

    # The call shows on the board live, with its operator and talk time.
    row = board.locator("tr.live-call").first
    row.wait_for(timeout=15000)
    assert "接线员一" in row.inner_text() or "operator1" in row.inner_text()
    call_id = row.get_attribute("data-call")

    console.locator("#need-help").click()
    console.locator("#need-help-said.success").wait_for()
    assert "已求助" in console.locator("#need-help-said").inner_text()

    alert = board.locator(".alert-item", has_text="求助").first
    alert.wait_for(timeout=15000)
    board.locator(f"#call-{call_id}.needs-help").wait_for()
    alert.locator("button[data-action=listen]").click()
    alert.locator(".item-messages li.success").wait_for()
    assert "正在监听" in alert.locator(".item-messages").inner_text()
    row = board.locator(f"#call-{call_id}")
    board.locator(f"#call-{call_id}[data-mode=listen]").wait_for()

    row.locator("button[data-action=whisper]").click()
    board.locator(f"#call-{call_id}[data-mode=whisper]").wait_for()
    assert "耳语" in board.locator(f"#call-{call_id} .item-messages").inner_text()
    shoot(board, artifacts, "board-whisper")

    board.locator(f"#call-{call_id} button[data-action=barge]").click()
    board.locator(f"#call-{call_id}[data-mode=barge]").wait_for()
    assert board.locator(f"#call-{call_id} button[data-action=end]").is_visible()
    shoot(board, artifacts, "board-barge")

    board.locator(f"#call-{call_id} button[data-action=end]").click()
    board.locator(f"#call-{call_id}[data-mode='']").wait_for()
    shoot(console, artifacts, "console")

    # Everything is on the case's timeline, in words.
    api = Api(daphne_server.url, "coordinator1", servers.DEMO_PASSWORD)
    call = api.call("GET", f"/api/v1/calls/{call_id}/")
    timeline = api.call("GET", f"/api/v1/cases/{call['case']}/timeline/")
    types = [e["type"] for e in timeline]
    for expected in (
        "call.help_requested",
        "call.supervision_started",
        "call.supervision_changed",
        "call.supervision_ended",
    ):
        assert expected in types
