"""A counsellor receives a referral pushed by the hotline in the inbox, live, without a reload."""

import json
import urllib.request

from tests.e2e import servers


def api(base: str, path: str, body: dict | None = None, token: str | None = None) -> dict:
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json", "Accept-Language": "en"}
        | ({"Authorization": f"Token {token}"} if token else {}),
        method="POST" if body is not None else "GET",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_a_counsellor_sees_a_pushed_referral_and_acknowledges_it(
    new_page, daphne_server, artifacts
):
    base = daphne_server.url
    page = new_page("counsellor1")
    page.goto(base + "/care/counselling/")
    assert page.locator("h1").inner_text() == "咨询转介收件箱"
    page.locator("#live-status[data-state=live]").wait_for()
    before = page.locator("tr.referral").count()

    token = api(
        base, "/api/v1/auth/token/", {"username": "operator1", "password": servers.DEMO_PASSWORD}
    )["token"]
    cases = api(base, "/api/v1/cases/?open=1", token=token)["results"]
    case = next(c for c in cases if c["stage"] in ("discovery", "intervention"))
    referral = api(
        base,
        "/api/v1/referrals/",
        {
            "case": case["id"],
            "kind": "counselling",
            "consent": True,
            "reason": "来电者同意到咨询中心面谈",
            "snapshot": {"notes": "浏览器测试：推送到咨询中心"},
        },
        token=token,
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
