"""Must show (issue 20): a class of 30 slips answered on phone-sized pages, two flagged (one by
item 9), the psychology teacher sees both with deadlines, the item-9 case is at discovery with
an alert, a consent refusal keeps nothing, the campaign figures equal the answers.

Three sessions go through the real pages in a 360 px browser (code, consent, questions,
thanks; one refusal); the other 27 post the same forms over HTTP with their own session and
CSRF cookie, as a phone would.
"""

import re
import urllib.parse

from tests.e2e import servers
from tests.realtime.http import Api

PHONE = {"width": 360, "height": 740}


def answers(phq9, gad7):
    data = {f"phq9_{n}": str(v) for n, v in enumerate(phq9, 1)}
    data.update({f"gad7_{n}": str(v) for n, v in enumerate(gad7, 1)})
    return data


def answer_in_browser(browser, base, code, phq9, gad7, *, refuse=False):
    context = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True)
    violations = []
    context.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page = context.new_page()
    page.goto(base + "/screening/")
    assert page.locator("h1").inner_text() == "心理健康自评"
    page.fill("input[name=code]", code.lower())
    page.click("button[type=submit]")
    page.wait_for_url("**/screening/consent/")
    if refuse:
        page.click("button[value=refuse]")
        page.wait_for_load_state()
        assert "没有保存任何内容" in page.content()
        context.close()
        assert not violations
        return
    page.check("input[name=minor][value=yes]")
    page.check("input[name=guardian_agrees]")
    page.click("button[value=agree]")
    page.wait_for_url("**/screening/questions/")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    for name, value in answers(phq9, gad7).items():
        page.check(f"input[name={name}][value='{value}']")
    page.click("form.questions button[type=submit]")
    page.wait_for_url("**/screening/thanks/")
    text = page.inner_text("body")
    assert "2251885" in text and "PHQ" not in text and "得分" not in text
    context.close()
    assert not violations, violations


def test_a_class_of_thirty_screened_two_flagged_reach_the_teacher(
    new_page, browser, daphne_server, artifacts
):
    base = daphne_server.url
    teacher = new_page("teacher1")
    teacher.goto(base + "/prevention/")
    assert teacher.locator("h1").inner_text() == "防范：心理筛查与宣教"
    campaign_row = teacher.locator("table.campaigns tr[data-campaign]").first
    assert campaign_row.locator(".invited").inner_text() == "30"
    with teacher.expect_navigation():
        campaign_row.locator("a").first.click()
    codes = teacher.locator(".slip").evaluate_all("els => els.map(e => e.dataset.code)")
    assert len(codes) == 30 and len(set(codes)) == 30
    teacher.screenshot(path=artifacts / "prevention-slips.png", full_page=True)

    zero_phq, zero_gad = [0] * 9, [0] * 7
    # In the browser: one refusal (nothing kept), the item-9 student, one unflagged student.
    answer_in_browser(browser, base, codes[2], zero_phq, zero_gad, refuse=True)
    answer_in_browser(browser, base, codes[0], [1, 1, 0, 1, 0, 0, 0, 0, 1], [1] * 7)
    answer_in_browser(browser, base, codes[3], [1, 0, 0, 1, 0, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0, 0])
    # The refused code was kept unused: it is still on the slips.
    teacher.reload()
    left = teacher.locator(".slip").evaluate_all("els => els.map(e => e.dataset.code)")
    assert codes[2] in left and codes[0] not in left and len(left) == 28
    # The rest of the class, each on a phone of their own; slip 1 scores PHQ-9 16 (moderately
    # severe), slip 2 comes back after refusing and answers.
    answer_in_browser(browser, base, codes[1], [2, 2, 2, 2, 2, 2, 2, 2, 0], zero_gad)
    for code in codes[2:3] + codes[4:]:
        answer_in_browser(browser, base, code, zero_phq, [1, 0, 0, 0, 0, 0, 0])

    teacher.goto(base + "/prevention/")
    rows = teacher.locator("tr.task")
    assert rows.count() == 2
    assert sorted(rows.evaluate_all("els => els.map(e => e.dataset.reason)")) == ["item9", "phq9"]
    for i in range(2):
        assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", rows.nth(i).locator(".due").inner_text())
    row = teacher.locator("table.campaigns tr[data-campaign]").first
    figures = [row.locator(c).inner_text() for c in (".invited", ".answered", ".flagged")]
    assert figures == ["30", "30", "2"]
    teacher.screenshot(path=artifacts / "prevention-teacher.png", full_page=True)

    api = Api(base, "teacher1", servers.DEMO_PASSWORD)
    tasks = api.call("GET", "/api/v1/prevention/tasks/")["results"]
    item9 = next(t for t in tasks if t["reason"] == "item9")
    assert item9["stage"] == "discovery" and item9["scores"]["phq9_item9"] == 1
    case = api.call("GET", f"/api/v1/cases/{item9['case']}/")
    assert case["stage"] == "discovery" and case["risk"] == "high"
    coordinator = Api(base, "coordinator1", servers.DEMO_PASSWORD)
    alerts = coordinator.call("GET", "/api/v1/alerts/?" + urllib.parse.urlencode({"limit": 200}))
    alert = next(a for a in alerts["results"] if a["kind"] == "screening_item9")
    assert alert["state"] == "open" and alert["severity"] == "critical"
    assert alert["case"] == item9["case"]

    # The teacher takes it in hand on the page: the alert stops escalating.
    with teacher.expect_navigation():
        teacher.locator(
            f'tr[data-task="{item9["id"]}"] form[action$="/acknowledge/"] button'
        ).click()
    assert teacher.locator(".messages .success").count() == 1
    alerts = coordinator.call("GET", "/api/v1/alerts/?" + urllib.parse.urlencode({"limit": 200}))
    assert next(a for a in alerts["results"] if a["id"] == alert["id"])["state"] == "resolved"

    # The one-screen view (counts only, as the city's decision maker reads it): the campaign's
    # figures equal the answers - 30 invited, 30 answered, 2 flagged, 1 followed up in time.
    campaign = api.call("GET", "/api/v1/prevention/campaigns/")["results"][0]
    assert campaign["figures"] == {
        "invited": 30,
        "answered": 30,
        "flagged": 2,
        "followed_up_in_time": 1,
    }
    leader = new_page("leader1")
    leader.goto(base + "/dashboard/")
    table = leader.locator('table[data-table="screening_campaigns"]')
    assert table.locator("caption").inner_text() == "心理筛查活动"
    cells = table.locator("tbody tr", has_text=campaign["name"]).locator("td")
    assert cells.all_inner_texts()[3:] == ["30", "30", "2", "1"]
    district = leader.locator('table[data-table="prevention_by_district"]')
    assert district.locator("th").all_inner_texts()[:6] == [
        "区县",
        "筛查活动",
        "发放",
        "作答",
        "预警",
        "期限内跟进",
    ]
    leader.locator("#h-prevention").scroll_into_view_if_needed()
    leader.screenshot(path=artifacts / "prevention-dashboard.png", full_page=True)
