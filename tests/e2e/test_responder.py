"""The police responder's page in real Chromium: a one-key dispatch arrives live, 收到 is pressed,
and the operator's console hears of it without a reload."""

import re
import shutil

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.e2e import servers
from tests.realtime.http import Api


@pytest.fixture(scope="module")
def daphne_server(tmp_path_factory, artifacts):
    """A server of this module's own: a dispatch here would show on other tests' pages."""
    yield from servers.serve(
        tmp_path_factory,
        artifacts,
        "e2e_responder",
    )


def in_view(page, selector: str) -> bool:
    """Whether the element is (or within 5 s comes to be: a load scrolls to the leg's anchor)
    wholly inside the 1366x768 window."""
    try:
        page.wait_for_function(
            """sel => { const el = document.querySelector(sel); if (!el) return false;
                        const r = el.getBoundingClientRect();
                        return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight; }""",
            arg=selector,
            timeout=5000,
        )
    except PlaywrightTimeout:
        return False
    return True


def shoot(page, artifacts, name: str) -> None:
    path = artifacts / f"responder-{name}.png"
    page.screenshot(path=path)  # the viewport: what fits on a 1366x768 screen
    shutil.copy(path, f"/tmp/responder-{name}.png")


def test_the_police_responder_sees_the_dispatch_live_and_its_acknowledgement_reaches_the_console(
    new_page, daphne_server, artifacts
):
    police = new_page("police1")
    assert police.url == daphne_server.url + "/respond/"  # lands on its page, not "no role"
    police.locator("#live-status[data-state=live]").wait_for()
    assert "暂无分派给您的紧急联动" in police.inner_text("#responder-legs")
    police.evaluate("window.notReloaded = true")

    console = new_page("operator1")
    assert console.url == daphne_server.url + "/console/"
    console.locator("#live-status[data-state=live]").wait_for()

    operator = Api(daphne_server.url, "operator1", servers.DEMO_PASSWORD)
    person = operator.call(
        "POST",
        "/api/v1/people/",
        {"name": "小吴", "phone": "+8613800000077", "home_region": "330502001001"},
    )
    case = operator.call("POST", "/api/v1/cases/", {"person": person["id"], "risk": "high"})
    dispatch = operator.call(
        "POST", "/api/v1/dispatches/", {"case": case["id"], "address": "月河街12号"}
    )
    leg = next(x for x in dispatch["legs"] if x["kind"] == "police")

    card = police.locator(f"#leg-{leg['id']}")
    card.wait_for(timeout=15000)
    assert police.evaluate("window.notReloaded") is True  # arrived live, no reload
    text = card.inner_text()
    assert f"紧急联动 #{dispatch['id']}" in text
    assert "月河街12号" in text and "月河社区" in text
    assert "138 0000 0077" in text and "风险: 高" in text
    assert card.get_attribute("class").split().count("waiting") == 1
    countdown = card.locator("time.deadline")
    police.wait_for_function(
        "el => /^\\d+:\\d\\d$/.test(el.textContent)", arg=countdown.element_handle()
    )
    assert "请立即按“收到”" in police.inner_text(".waiting-banner")
    assert "待收到" in police.title()
    shoot(police, artifacts, "before")
    # The leg, its countdown and its button are in view at 1366x768 without scrolling.
    for selector in (
        ".waiting-banner",
        f"#leg-{leg['id']} time.deadline",
        "button.step-acknowledge",
    ):
        assert in_view(police, selector), selector

    with police.expect_navigation():
        police.locator(f"#leg-{leg['id']} button.step-acknowledge").click()
    card = police.locator(f"#leg-{leg['id']}")
    assert card.locator(".leg-state").inner_text() == "已收到"
    assert f"紧急联动 #{dispatch['id']}：已标记“收到”。" in card.inner_text()
    assert police.locator(".waiting-banner").count() == 0
    assert [b.inner_text() for b in card.locator("button.step").all()] == [
        "已出发",
        "已到达",
        "已交接",
    ]
    shoot(police, artifacts, "after")

    # The operator's console hears of it live (its feed), and the API says so.
    console.locator("#live-feed li[data-type='dispatch.leg_acknowledged']").wait_for(timeout=15000)
    legs = operator.call("GET", f"/api/v1/dispatches/{dispatch['id']}/")["legs"]
    police_leg = next(x for x in legs if x["id"] == leg["id"])
    assert police_leg["state"] == "acknowledged"
    assert police_leg["acknowledged_via"] == "console"

    # A step out of order from a stale form is refused in words beside the leg.
    with police.expect_navigation():
        police.evaluate(
            """id => { const b = document.querySelector(`#leg-${id} button[data-step='en_route']`);
                   b.formAction = b.formAction.replace('/en_route/', '/acknowledge/');
                   b.click(); }""",
            leg["id"],
        )
    error = police.locator(f"#leg-{leg['id']} .leg-messages li.error")
    assert error.inner_text() == "此任务当前为“已收到”，不能标记为“收到”。"
    shoot(police, artifacts, "refused")
    assert in_view(police, f"#leg-{leg['id']} .leg-messages li.error")
    assert re.search(r"已收到", police.locator(f"#leg-{leg['id']} .leg-state").inner_text())

    # 无法处置 needs a note: the browser asks for it before anything is sent.
    police.locator(f"#leg-{leg['id']} details.fail summary").click()
    police.locator(f"#leg-{leg['id']} .fail-form button").click()
    assert police.locator(f"#leg-{leg['id']} .fail-form textarea:invalid").count() == 1
    shoot(police, artifacts, "could-not-help")
    legs = operator.call("GET", f"/api/v1/dispatches/{dispatch['id']}/")["legs"]
    assert next(x for x in legs if x["id"] == leg["id"])["state"] == "acknowledged"
