"""A counsellor receives a referral pushed by the hotline in the inbox, live, without a reload."""

from tests.e2e import servers
from tests.realtime.http import Api


def test_a_counsellor_sees_a_pushed_referral_and_acknowledges_it(
    new_page, daphne_server, artifacts
):
    base = daphne_server.url
    page = new_page("counsellor1")
    page.goto(base + "/care/counselling/")
    assert page.locator("h1").inner_text() == "咨询转介收件箱"
    page.locator("#live-status[data-state=live]").wait_for()
    before = page.locator("tr.referral").count()

    operator = Api(base, "operator1", servers.DEMO_PASSWORD)
    cases = operator.call("GET", "/api/v1/cases/?open=1")["results"]
    # A case with no referral in progress (other tests of this server may have referred some).
    active = operator.call("GET", "/api/v1/referrals/?active=1&limit=500")["results"]
    referred = {r["case"] for r in active}
    case = next(
        c for c in cases if c["stage"] in ("discovery", "intervention") and c["id"] not in referred
    )
    referral = operator.call(
        "POST",
        "/api/v1/referrals/",
        {
            "case": case["id"],
            "kind": "counselling",
            "consent": True,
            "reason": "来电者同意到咨询中心面谈",
            "snapshot": {"notes": "浏览器测试：推送到咨询中心"},
        },
    )
    assert referral["state"] == "sent"

    row = page.locator(f'tr[data-referral="{referral["id"]}"]')
    row.wait_for()  # pushed: the inbox re-reads itself on the referral event
    assert page.evaluate("Live.cues") >= 1  # with the sound and visual cue
    assert page.locator("tr.referral").count() == before + 1
    assert "浏览器测试：推送到咨询中心" in row.inner_text()
    assert row.locator(".countdown").count() == 1
    page.screenshot(path=artifacts / "counsellor-inbox.png", full_page=True)

    with page.expect_navigation():
        page.locator(f'form[action="/care/referrals/{referral["id"]}/acknowledge/"] button').click()
    assert page.locator(".messages .success").count() == 1
    assert "已接收" in page.locator(f'tr[data-referral="{referral["id"]}"]').inner_text()
