"""The safety plan (安全计划) in real Chromium: operator1 writes it with the caller from the
console, saves version 1 and sends it by SMS (recorded by the console gateway); counsellor1 sees
it on the referral, and at the next follow-up reviews it and saves version 2."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.e2e import servers
from tests.e2e.test_continue_referral import answer_screen
from tests.realtime.http import Api

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]  # its own server: migrate + seed first

NUMBER = "139 0088 5566"


@pytest.fixture(scope="module")
def daphne_server(own_daphne_server):
    return own_daphne_server


def test_a_plan_written_on_the_call_is_sent_seen_on_the_referral_and_reviewed(
    new_page, daphne_server, artifacts
):
    base = daphne_server.url
    Api(base, "operator2", servers.DEMO_PASSWORD).call(
        "PUT", "/api/v1/operators/me/presence/", {"status": "offline"}
    )
    page = new_page("operator1")
    page.locator("#live-status[data-state=live]").wait_for()
    page.locator("details.manual summary").click()
    page.locator("#manual-call input[name=from_number]").fill(NUMBER)
    page.locator("#manual-call button[type=submit]").click()
    page.locator("#queue li.queue-item button.accept").first.click()
    page.locator("#triage:not([hidden])").wait_for()
    answer_screen(page, yes=("wish_to_be_dead", "behaviour_ever"))
    page.locator("#triage textarea[name=notes]").fill("失恋后失眠，同意面谈并一起做安全计划。")
    page.locator("#triage button[value=refer]").click()
    page.locator("#triaged:not([hidden])").wait_for()

    # The console offers the plan of the call's case; it opens beside the console.
    link = page.locator("#safety-plan-open")
    link.wait_for()
    page.screenshot(path=artifacts / "safety-plan-console.png")
    with page.context.expect_page() as opened:
        link.click()
    plan = opened.value
    plan.wait_for_load_state()
    assert "安全计划" in plan.locator("h1").inner_text()
    professionals = plan.locator("input[name=professionals-phone]")
    assert [professionals.nth(i).input_value() for i in range(5)] == [
        "2251885",
        "2259885",
        "12356",
        "110",
        "120",
    ]
    plan.fill("#plan-warning_signs", "连续失眠\n不想见人")
    plan.fill("#plan-coping", "听音乐\n去楼下散步")
    plan.fill("#plan-reasons", "我的猫\n明年想去看海")
    plan.locator("input[name=helpers-name]").first.fill("妈妈")
    plan.locator("input[name=helpers-phone]").first.fill("打给我")
    plan.check("#sms-consent")
    with plan.expect_navigation():
        plan.click("#save-plan")
    # A wrong number is said beside its section; what was typed stays.
    error = plan.locator('[data-error-for="helpers"]')
    assert "不是电话号码" in error.inner_text()
    assert plan.locator("input[name=helpers-name]").first.input_value() == "妈妈"
    plan.locator("input[name=helpers-phone]").first.fill("13800000009")
    with plan.expect_navigation():
        plan.click("#save-plan")
    assert "已保存为版本 1" in plan.locator(".messages").inner_text()
    assert "当前：版本 1" in plan.locator("#plan-version").inner_text()
    with plan.expect_navigation():
        plan.click("#send-plan")
    assert "已通过短信发送" in plan.locator(".messages").inner_text()
    assert "版本 1，第 1/1 条" in plan.locator("#plan-messages").inner_text()
    plan.screenshot(path=artifacts / "safety-plan-page.png")
    case_id = int(plan.url.rstrip("/").split("/")[-2])

    page.bring_to_front()
    page.locator("#wrap-up button[type=submit]").click()
    page.locator("#no-call:not([hidden])").wait_for()

    # counsellor1 receives the referral with the plan on it.
    counsellor = new_page("counsellor1")
    counsellor.goto(base + "/care/counselling/")
    summary = counsellor.locator(f'[data-safety-plan="{case_id}"]')
    assert "安全计划 · 版本 1" in summary.first.inner_text()

    # The next follow-up: scheduled on the case page, then the plan reviewed and updated.
    counsellor.goto(base + f"/care/cases/{case_id}/")
    due = timezone.localtime(timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    counsellor.fill("#follow-up-form input[name=due_at]", due)
    with counsellor.expect_navigation():
        counsellor.click("#follow-up-form button[type=submit]")
    counsellor.goto(base + "/care/follow-ups/")
    review = counsellor.locator(f'a.review-plan[href*="/care/cases/{case_id}/safety-plan/"]')
    with counsellor.expect_navigation():
        review.click()
    counsellor.locator("#review-step").wait_for()
    assert "我的猫" in counsellor.locator("#plan-reasons").input_value()
    counsellor.screenshot(path=artifacts / "safety-plan-review-step.png")
    counsellor.fill("#plan-reasons", "我的猫\n明年想去看海\n下个月妹妹生日")
    counsellor.screenshot(path=artifacts / "safety-plan-review.png")
    with counsellor.expect_navigation():
        counsellor.click("#save-plan")
    assert "已更新（新版本）" in counsellor.locator(".messages").inner_text()
    assert "当前：版本 2" in counsellor.locator("#plan-version").inner_text()
    counsellor.goto(base + "/care/follow-ups/")
    row = counsellor.locator(".safety-plan-review").filter(has_text="版本 2")
    assert "已更新（新版本）" in row.first.inner_text()
