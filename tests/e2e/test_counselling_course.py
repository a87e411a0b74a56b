"""A counsellor runs a course of counselling on the counselling page: "continue" books the
next session on the same referral, "completed" ends the course into one follow-up plan."""

from datetime import UTC, datetime, timedelta

from tests.e2e import servers
from tests.realtime.http import Api


def test_a_counsellor_records_continue_then_completed(new_page, daphne_server, artifacts):
    base = daphne_server.url
    operator = Api(base, "operator1", servers.DEMO_PASSWORD)
    case = operator.open_case("疗程测试", risk="moderate")
    referral = operator.call(
        "POST",
        "/api/v1/referrals/",
        {"case": case["id"], "kind": "counselling", "consent": True, "reason": "同意面谈"},
    )
    counsellor = Api(base, "counsellor1", servers.DEMO_PASSWORD)
    counsellor.call("POST", f"/api/v1/referrals/{referral['id']}/acknowledge/")
    # Short slots at hh:51, between the demo's hourly ones, in the next few hours.
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    slots = [
        counsellor.call(
            "POST",
            "/api/v1/slots/",
            {
                "starts_at": (hour + timedelta(hours=n, minutes=51)).isoformat(),
                "ends_at": (hour + timedelta(hours=n, minutes=59)).isoformat(),
            },
        )["id"]
        for n in (1, 2)
    ]
    first = counsellor.call(
        "POST", f"/api/v1/referrals/{referral['id']}/schedule/", {"slot": slots[0]}
    )["id"]

    page = new_page("counsellor1")
    page.goto(base + "/care/counselling/")
    form = page.locator(f'form[data-appointment="{first}"]')
    form.locator("input[name=notes]").fill("第一次面谈，情绪低落，约下次")
    form.locator("select[name=outcome]").select_option("continue")
    form.locator("select[name=next_slot]").select_option(str(slots[1]))
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert page.locator(".messages .success").count() == 1

    following = counsellor.call("GET", "/api/v1/sessions/")["results"][0]["next_appointment"]
    form = page.locator(f'form[data-appointment="{following}"]')
    row = page.locator("tr", has=form)
    assert "第1次咨询" in row.inner_text() and "继续咨询" in row.inner_text()
    form.scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "counselling-course.png", full_page=True)
    form.locator("input[name=notes]").fill("情绪好转，咨询结束")
    form.locator("select[name=outcome]").select_option("completed")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert page.locator(".messages .success").count() == 1
    assert page.locator(f'form[data-appointment="{following}"]').count() == 0

    assert counsellor.call("GET", f"/api/v1/referrals/{referral['id']}/")["state"] == "completed"
    plan = counsellor.call("GET", f"/api/v1/follow-ups/?case={case['id']}&state=scheduled")
    assert len(plan["results"]) == 3
    course = counsellor.call("GET", "/api/v1/appointments/?status=attended")["results"]
    assert {a["id"] for a in course if a["referral"] == referral["id"]} == {first, following}
