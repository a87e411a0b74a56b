"""The coordinator's board in real Chromium: a dispatch arrives live, its unacknowledged leg
raises a life-safety alert shown in its own colour with a repeating cue, and acknowledging it
from the board stops its escalation."""

import shutil
import time

import pytest

from tests.e2e import servers
from tests.realtime.http import Api

LIFE_COLOUR = "rgb(163, 0, 43)"  # --life in board.css
STEP_WAIT = 6  # seconds between escalation steps on this server


@pytest.fixture(scope="module")
def daphne_server(tmp_path_factory, artifacts):
    """Short deadlines, so that a leg's silence becomes an alert within seconds."""
    yield from servers.serve(
        tmp_path_factory,
        artifacts,
        "e2e_board",
        ESCALATION_ACK_SECONDS="5",
        ESCALATION_DEFAULT_FIRST_WAIT=str(STEP_WAIT),
        ESCALATION_DEFAULT_FALLBACK_WAIT=str(STEP_WAIT),
    )


def shoot(page, artifacts, name: str) -> None:
    path = artifacts / f"board-{name}.png"
    page.screenshot(path=path)  # the viewport: what a 1366x768 screen shows
    shutil.copy(path, f"/tmp/board-{name}.png")


def in_view(page, selector: str) -> bool:
    return page.evaluate(
        """sel => { const el = document.querySelector(sel); if (!el) return false;
                    const r = el.getBoundingClientRect();
                    return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight; }""",
        selector,
    )


def notified_rounds(api: Api, alert_id: int) -> int:
    history = api.call("GET", f"/api/v1/alerts/{alert_id}/history/")
    return sum(1 for e in history if e["type"] == "alert.notified")


def test_the_coordinator_runs_a_life_safety_alert_from_the_board(
    new_page, daphne_server, artifacts
):
    board = new_page("coordinator1")
    board.goto(daphne_server.url + "/coordination/")
    board.locator("#live-status[data-state=live]").wait_for()
    board.evaluate("window.notReloaded = true")
    assert board.locator("#sound-enable").is_visible()  # audio needs a gesture first
    board.click("#sound-enable")
    board.locator("#sound-on").wait_for()
    assert board.locator("#sound-enable").is_hidden()

    operator = Api(daphne_server.url, "operator1", servers.DEMO_PASSWORD)
    person = operator.call(
        "POST",
        "/api/v1/people/",
        {"name": "小郑", "phone": "+8613800000088", "home_region": "330502001001"},
    )
    case = operator.call("POST", "/api/v1/cases/", {"person": person["id"], "risk": "imminent"})
    dispatch = operator.call(
        "POST", "/api/v1/dispatches/", {"case": case["id"], "address": "月河街8号"}
    )
    police = next(x for x in dispatch["legs"] if x["kind"] == "police")

    # The dispatch shows live, each leg with its countdown to the acknowledgement deadline.
    row = board.locator(f"#leg-{police['id']}")
    row.wait_for(timeout=15000)
    assert row.locator("time.deadline").count() == 1
    shoot(board, artifacts, "dispatch")

    # Nobody pressed 收到 within 5 s: the worker raises a life-safety alert; it arrives live.
    coordinator = Api(daphne_server.url, "coordinator1", servers.DEMO_PASSWORD)
    deadline = time.monotonic() + 20
    alert = None
    while alert is None and time.monotonic() < deadline:
        found = coordinator.call("GET", "/api/v1/alerts/?open=1")["results"]
        alert = next((a for a in found if a["data"].get("leg") == police["id"]), None)
        time.sleep(0.3)
    assert alert is not None and alert["severity"] == "life_safety"
    card = board.locator(f"#alert-{alert['id']}")
    card.wait_for(timeout=15000)
    assert board.evaluate("window.notReloaded") is True  # live, without a reload
    assert "life-safety" in card.get_attribute("class").split()
    colour = card.evaluate("el => getComputedStyle(el).borderLeftColor")
    assert colour == LIFE_COLOUR
    assert card.locator("time.next-step").count() == 1  # countdown to its next escalation step
    board.locator(".life-banner").wait_for()
    assert in_view(board, ".life-banner")
    board.wait_for_function("() => window.Board.cues >= 1")  # a function: no eval under CSP
    assert "生命安全预警待确认" in board.title()
    # The first life-safety card is at the top of the alerts, above the fold.
    first = board.locator("#alert-board .alert-item").first
    assert "life-safety" in first.get_attribute("class").split()
    shoot(board, artifacts, "life-safety")

    # The cue repeats while it waits (every 10 s).
    cues = board.evaluate("window.Board.cues")
    board.wait_for_function(f"() => window.Board.cues > {cues}", timeout=15000)

    # A resolve without a note is refused in words beside the alert, in view; nothing changes.
    card = board.locator(f"#alert-{alert['id']}")
    card.locator("details.resolve summary").click()
    card.locator("button[data-action=resolve]").click()
    said = board.locator(f"#alert-{alert['id']} .item-messages li.error")
    said.wait_for(timeout=10000)
    assert "必填" in said.inner_text()
    assert in_view(board, f"#alert-{alert['id']} .item-messages li.error")
    shoot(board, artifacts, "refusal")
    assert coordinator.call("GET", f"/api/v1/alerts/{alert['id']}/")["state"] == "open"

    # Acknowledge it from the board: the escalation stops.
    board.locator(f"#alert-{alert['id']} button[data-action=acknowledge]").click()
    board.locator(f"#alert-{alert['id']}[data-state=acknowledged]").wait_for(timeout=10000)
    ok = board.locator(f"#alert-{alert['id']} .item-messages li.success")
    ok.wait_for()
    assert "升级已停止" in ok.inner_text()
    assert board.evaluate("window.notReloaded") is True
    shoot(board, artifacts, "acknowledged")
    state = coordinator.call("GET", f"/api/v1/alerts/{alert['id']}/")
    assert state["state"] == "acknowledged" and state["next_step_at"] is None
    rounds = notified_rounds(coordinator, alert["id"])
    time.sleep(STEP_WAIT * 2 + 1)  # past the step that was pending
    assert notified_rounds(coordinator, alert["id"]) == rounds
    after = coordinator.call("GET", f"/api/v1/alerts/{alert['id']}/")
    assert (after["round"], after["step"]) == (state["round"], state["step"])

    # The police press 收到 on their side: the board's leg turns, and the alert leaves, live.
    police_api = Api(daphne_server.url, "police1", servers.DEMO_PASSWORD)
    police_api.call("POST", f"/api/v1/dispatch-legs/{police['id']}/acknowledge/")
    board.locator(f"#leg-{police['id']}[data-state=acknowledged]").wait_for(timeout=10000)
    board.locator(f"#alert-{alert['id']}").wait_for(state="detached", timeout=10000)
    assert board.evaluate("window.notReloaded") is True
    shoot(board, artifacts, "leg-acknowledged")

    # Its history page: raised, escalation steps, acknowledged by the coordinator.
    board.goto(f"{daphne_server.url}/coordination/alerts/{alert['id']}/")
    history = board.inner_text("#alert-history")
    assert "发起" in history and "升级" in history and "协调员一" in history
    assert "已接收（协调看板），升级已停止" in history
    assert "处置完毕" in history  # resolved by the system when the police acknowledged
    assert board.locator("#alert-messages tbody tr").count() >= 1
    shoot(board, artifacts, "detail")
