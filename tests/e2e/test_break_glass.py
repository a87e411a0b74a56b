"""A coordinator's emergency access (紧急查阅): first a second factor, then the reason's refusal
beside the field, then the case; the owner picker offers the hotline's case workers only."""

import base64

import pytest

from tests.e2e import servers
from tests.realtime.http import Api


@pytest.fixture(scope="module")
def daphne_server(own_daphne_server):
    """This module turns two-step verification on for coordinator1: a network of its own."""
    return own_daphne_server


def _code(key_hex: str) -> str:
    from django_otp.oath import totp

    return f"{totp(bytes.fromhex(key_hex)):06d}"


def test_a_coordinator_breaks_the_glass_with_a_real_reason(new_page, daphne_server, artifacts):
    base = daphne_server.url
    api = Api(base, "coordinator1", servers.DEMO_PASSWORD)
    case = api.call("GET", "/api/v1/cases/?open=1")["results"][0]
    page = new_page("coordinator1")
    page.goto(base + "/")
    with page.expect_navigation():
        page.get_by_role("link", name="紧急查阅").click()
    assert page.locator("h1").inner_text() == "紧急查阅个案"
    notice = page.locator("#second-factor")
    assert "需要两步验证" in notice.inner_text() and notice.bounding_box()["y"] < 768
    page.screenshot(path=artifacts / "break-glass-second-factor.png", full_page=True)
    with page.expect_navigation():
        notice.get_by_role("link").click()
    key = base64.b32decode(page.locator("#totp-key").inner_text().replace(" ", ""))
    page.fill("input[name=otp_token]", _code(key.hex()))
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("#backup-codes li").count() == 8
    with page.expect_navigation():
        page.get_by_role("link", name="紧急查阅").click()
    assert page.locator("#second-factor").count() == 0
    page.fill("input[name=case]", str(case["id"]))
    page.fill("textarea[name=reason]", "。")
    with page.expect_navigation():
        page.get_by_role("button", name="紧急打开个案").click()
    error = page.locator("#reason-error")
    assert "至少写 10 个字" in error.inner_text()
    assert error.is_visible() and error.bounding_box()["y"] < 768
    page.screenshot(path=artifacts / "break-glass-refused.png", full_page=True)

    page.fill("textarea[name=reason]", "来电者称已服药，需查监护人电话与既往病史")
    with page.expect_navigation():
        page.get_by_role("button", name="紧急打开个案").click()
    assert page.url.endswith(f"/care/cases/{case['id']}/")
    assert "紧急查阅有效至" in page.locator(".messages").inner_text()
    owners = page.locator("select[name=owner] option").all_inner_texts()
    assert "接线员一" in " ".join(owners) and "决策领导" not in " ".join(owners)
    reads = page.locator("#case-reads")  # 查阅记录: the owner's coordinators see who read it
    assert reads.locator("h2").inner_text() == "查阅记录"
    assert "协调员一" in reads.locator("tbody").inner_text()
    page.screenshot(path=artifacts / "break-glass-case.png", full_page=True)
