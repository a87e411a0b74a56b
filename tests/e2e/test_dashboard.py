"""The one-screen view in real Chromium at 1366x768: charts over tables, live figures."""

import pytest

from tests.e2e import servers
from tests.realtime.http import Api


@pytest.fixture(scope="module")
def daphne_server(tmp_path_factory, artifacts):
    """A server of this module's own, re-reading its figures every 2 s: these tests open cases."""
    yield from servers.serve(
        tmp_path_factory,
        artifacts,
        "e2e_dashboard",
        DASHBOARD_POLL_SECONDS="2",
    )


def cell(page, table: str, row: int, column: int):
    return page.locator(f"table[data-table='{table}'] tbody tr").nth(row).locator("td").nth(column)


def funnel_total(page) -> int:
    cells = page.locator("table[data-table='open_cases_by_stage'] tbody tr td:nth-child(2)")
    return sum(int(t) for t in cells.all_inner_texts())


def test_a_decision_maker_reads_charts_and_tables_without_names(new_page, daphne_server, artifacts):
    page = new_page("leader1")
    page.goto(daphne_server.url + "/dashboard/")
    assert page.locator("h1").first.inner_text() == "一屏总览"
    # Every chart is drawn, and a plain table stands behind it.
    for key in ("open_cases_by_stage", "open_cases_by_district", "weekly_trends", "call_pattern"):
        page.locator(f"[data-chart='{key}'] svg").first.wait_for()
        assert page.locator(f"table[data-table='{key}']").count() == 1
    assert page.locator("table[data-table='open_cases_by_district'] tbody tr").count() == 5
    text = page.locator("body").inner_text()
    for name in ("小林", "小周", "小陈"):  # the demo's people
        assert name not in text
    assert page.locator("a[href*='/dashboard/cases/']").count() == 0
    page.screenshot(path=artifacts / "dashboard-leader.png", full_page=True)
    # No case events reach a decision maker: the page polls, and a new case shows up.
    before = funnel_total(page)
    Api(daphne_server.url, "operator2", servers.DEMO_PASSWORD).open_case("看板测试")
    page.wait_for_function(
        "n => [...document.querySelectorAll(\"table[data-table='open_cases_by_stage'] tbody tr"
        ' td:nth-child(2)")].reduce((s, td) => s + parseInt(td.innerText, 10), 0) > n',
        arg=before,
        timeout=15000,
    )
    assert "看板测试" not in page.locator("body").inner_text()


def test_a_coordinator_drills_down_from_a_count(new_page, daphne_server):
    page = new_page("coordinator1")
    page.goto(daphne_server.url + "/dashboard/?risk=low")
    link = page.locator("table[data-table='open_cases_by_stage'] a").first
    link.wait_for()
    with page.expect_navigation():
        link.click()
    assert "/dashboard/cases/" in page.url
    assert page.locator("table.table tbody tr").count() >= 1
