"""The care pages in a real browser: a counsellor pre-assesses a referral and books a green
channel from the counselling page, the nurse sees the transfer arrive live with the assessment,
and the case page says every step in words with the pre-assessment and the next step."""

import re

from tests.e2e import servers
from tests.realtime.http import Api

RAW_TYPE = re.compile(r"\b(case|call|referral|green_channel|appointment|follow_up)\.[a-z_]+\b")


def test_a_counsellor_books_a_green_channel_and_the_nurse_sees_it_live(
    new_page, daphne_server, artifacts
):
    base = daphne_server.url
    operator = Api(base, "operator1", servers.DEMO_PASSWORD)
    case = operator.open_case("绿色通道浏览器测试", risk="high")
    referral = operator.call(
        "POST",
        "/api/v1/referrals/",
        {
            "case": case["id"],
            "kind": "counselling",
            "consent": True,
            "reason": "来电者同意面谈",
            "snapshot": {"notes": "热线记录：近一周自伤"},
        },
    )

    nurse = new_page("nurse1")
    nurse.goto(base + "/care/hospital/")
    nurse.locator("#live-status[data-state=live]").wait_for()
    transfers = nurse.locator("#transfers")
    assert "绿色通道浏览器测试" not in transfers.inner_text()

    counsellor = new_page("counsellor1")
    counsellor.goto(base + "/care/counselling/")
    actions = f'form[action="/care/referrals/{referral["id"]}'
    with counsellor.expect_navigation():
        counsellor.locator(f'{actions}/acknowledge/"] button').click()
    assert "已接收" in counsellor.locator(".messages .success").inner_text()

    form = counsellor.locator(f'{actions}/pre-assess/"]')
    form.locator("select[name=risk]").select_option("high")
    form.locator("input[name=presenting_problem]").fill("反复自伤，需住院评估")
    form.locator("select[name=recommendation]").select_option("green_channel")
    with counsellor.expect_navigation():
        form.locator("button").click()
    said = counsellor.locator(".messages .success").inner_text()
    assert "先期研判已保存" in said and "绿色通道转医院" in said  # the result, not "已完成。"
    shown = counsellor.locator(f'[data-pre-assessment="{referral["id"]}"]')
    assert "反复自伤，需住院评估" in shown.inner_text()

    green = counsellor.locator(f'{actions}/green-channel/"]')
    assert green.is_visible()  # opened: the assessment recommends the green channel
    slots = green.locator("select[name=slot] option")
    assert slots.count() >= 2, "the demo hospital offers free places"
    assert "剩余" in slots.nth(1).inner_text()
    green.locator("select[name=slot]").select_option(index=1)
    green.locator("input[name=reason]").fill("自伤风险高，绿色通道")
    with counsellor.expect_navigation():
        green.locator("button[type=submit]").click()
    said = counsellor.locator(".messages .success").inner_text()
    assert "绿色通道" in said and ("已预约" in said or "已发送" in said), said
    assert "绿色通道" in counsellor.locator(".green-channel-sent").first.inner_text()
    counsellor.screenshot(path=artifacts / "counsellor-green-channel.png", full_page=True)

    # The nurse's page re-reads itself on the event: the transfer, its reason and assessment.
    row = transfers.locator("tr", has_text="绿色通道浏览器测试")
    row.first.wait_for()
    text = transfers.inner_text()
    assert "自伤风险高，绿色通道" in text and "反复自伤，需住院评估" in text
    accept = transfers.locator("button.primary").first
    assert accept.inner_text() == "接收转诊"
    nurse.screenshot(path=artifacts / "nurse-green-channel.png", full_page=True)

    # The case page: every step in words, the pre-assessment, and the case's next step.
    counsellor.goto(f"{base}/care/cases/{case['id']}/")
    timeline = counsellor.locator("#timeline").inner_text()
    assert RAW_TYPE.search(timeline) is None, timeline
    for words in ("新转介", "转介已确认", "先期研判已完成", "绿色通道已预约"):
        assert words in timeline
    assessment = counsellor.locator("#pre-assessments").inner_text()
    assert "反复自伤，需住院评估" in assessment and "绿色通道转医院" in assessment
    current = operator.call("GET", f"/api/v1/cases/{case['id']}/")
    next_step = counsellor.locator("#next-step").inner_text()
    assert (current["next_step"] or "尚未设定下一步") in next_step
    counsellor.locator('.care-filters a[href="?kind=referral"]').click()
    counsellor.wait_for_load_state()
    assert "个案已建立" not in counsellor.locator("#timeline").inner_text()
    assert "新转介" in counsellor.locator("#timeline").inner_text()
    counsellor.screenshot(path=artifacts / "case-page.png", full_page=True)

    # The nurse reads the case too: the transfer and the assessment it carries, not the
    # hotline's notes.
    nurse.goto(f"{base}/care/cases/{case['id']}/")
    assert "反复自伤，需住院评估" in nurse.locator("#pre-assessments").inner_text()
    assert "热线记录：近一周自伤" not in nurse.locator("main").inner_text()
