"""The look in real Chromium at 1366x768: the dashboard's district names legible in both
languages, the error pages and the icon through Daphne, and each role's page photographed."""

import re
import urllib.request

import pytest

from realtime.audiences import EVENT_TYPES

ROLE_PAGES = [
    ("operator1", "/console/"),
    ("counsellor1", "/care/counselling/"),
    ("nurse1", "/care/hospital/"),
    ("coordinator1", "/coordination/"),
    ("leader1", "/dashboard/"),
    ("police1", "/respond/"),
    ("teacher1", "/prevention/"),
]
# A 12-hour time in either language ("3:05 PM", "下午3:05"), and an identifier in snake case.
TWELVE_HOUR = re.compile(
    r"\b\d{1,2}:\d{2}(:\d{2})?\s*([AaPp]\.?[Mm]\.?)(?![A-Za-z])|(上午|下午|凌晨|晚上|中午)\s*\d{1,2}[:：]\d{2}"
)
SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
EVENT_TYPE = re.compile(r"\b[a-z_]+\.[a-z_]+\b")

BOXES = """el => Array.from(el.querySelectorAll('svg text')).map(t => {
  const r = t.getBoundingClientRect();
  return {text: t.textContent, left: r.left, right: r.right, top: r.top, bottom: r.bottom};
})"""


def _overlap(a, b) -> bool:
    return not (
        a["right"] <= b["left"]
        or b["right"] <= a["left"]
        or a["bottom"] <= b["top"]
        or b["bottom"] <= a["top"]
    )


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_the_district_names_do_not_overlap(new_page, daphne_server, artifacts, locale):
    page = new_page("leader1", locale=locale)
    page.goto(daphne_server.url + "/dashboard/")
    chart = page.locator("[data-chart='open_cases_by_district']")
    chart.locator("svg text").first.wait_for()
    page.wait_for_timeout(500)  # the first animation
    districts = page.locator(
        "table[data-table='open_cases_by_district'] tbody tr td:first-child"
    ).all_inner_texts()
    assert len(districts) >= 5  # the five districts, and "unknown" when a case has none
    boxes = chart.evaluate(BOXES)
    frame = chart.bounding_box()
    # The axis labels: every district shown, whole or cut with "…".
    names = [
        b
        for b in boxes
        if any(b["text"].rstrip("…") and d.startswith(b["text"].rstrip("…")) for d in districts)
    ]
    assert len(names) == len(districts), [b["text"] for b in boxes]
    for i, a in enumerate(names):
        assert frame["x"] - 1 <= a["left"] and a["right"] <= frame["x"] + frame["width"] + 1
        assert a["bottom"] <= frame["y"] + frame["height"] + 1
        for b in names[i + 1 :]:
            assert not _overlap(a, b), f"{a['text']} overlaps {b['text']}"
    chart.screenshot(path=artifacts / f"dashboard-districts-{locale}.png")


def test_a_missing_page_is_chinese_in_the_shell(new_page, daphne_server):
    page = new_page("operator1")
    response = page.goto(daphne_server.url + "/no-such-page/")
    assert response.status == 404
    assert page.locator("h1").inner_text().startswith("页面不存在")
    assert page.locator("header.topbar").count() == 1


def test_the_icon_is_served_through_daphne(daphne_server):
    with urllib.request.urlopen(daphne_server.url + "/favicon.ico", timeout=10) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("image/svg+xml")


@pytest.mark.parametrize(("username", "path"), ROLE_PAGES)
def test_each_roles_page_in_chinese(new_page, daphne_server, artifacts, username, path):
    page = new_page(username)
    page.goto(daphne_server.url + path)
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    page.screenshot(path=artifacts / f"role-{username}.png")
    # What the person reads once the scripts have drawn the page: 24-hour times, no codes.
    text = page.locator("body").inner_text()
    assert not TWELVE_HOUR.search(text), TWELVE_HOUR.search(text).group(0)
    assert not SNAKE.findall(text), SNAKE.findall(text)
    assert not [t for t in EVENT_TYPE.findall(text) if t in EVENT_TYPES]
