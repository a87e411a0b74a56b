"""Signing in: the password, the lockout after wrong ones, the two-step code and its enrolment."""

import pytest


@pytest.fixture(scope="module")
def daphne_server(own_daphne_server):
    """This module turns two-step verification on for operator2 and locks leader1 out: it gets
    a network of its own."""
    return own_daphne_server


def test_an_operator_logs_in_through_the_browser_and_sees_the_console(
    new_page, daphne_server, artifacts
):
    page = new_page("operator1")
    assert page.url == daphne_server.url + "/console/"
    assert page.locator("h1").inner_text() == "热线接线台"
    assert page.locator("#queue-title").is_visible()
    page.screenshot(path=artifacts / "landing-operator.png", full_page=True)


def test_a_wrong_password_is_refused_with_a_message(new_page, daphne_server):
    page = new_page()
    page.goto(daphne_server.url + "/login/")
    page.fill("input[name=username]", "operator1")
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")
    assert page.url.startswith(daphne_server.url + "/login/")
    assert page.locator(".error").count() == 1


def test_the_page_switches_to_english(new_page, daphne_server):
    page = new_page("counsellor1")
    with page.expect_navigation():
        page.select_option("select[name=language]", "en")
    assert page.locator("h1").inner_text() == "Counselling inbox"


def _code(key_hex: str) -> str:
    from django_otp.oath import totp

    return f"{totp(bytes.fromhex(key_hex)):06d}"


def test_the_administrator_enters_a_two_step_code_after_the_password(
    new_page, daphne_server, artifacts
):
    from demo.data import ADMIN_TOTP_KEY

    page = new_page("admin")
    assert "/account/verify/" in page.url
    assert page.locator("h1").inner_text() == "两步验证"
    page.fill("input[name=otp_token]", "000000")
    page.click("main button[type=submit]")
    assert page.locator("#otp-error").is_visible()
    page.screenshot(path=artifacts / "login-two-step-code.png", full_page=True)
    page.wait_for_timeout(1100)  # django-otp delays the next try after a wrong code
    page.fill("input[name=otp_token]", _code(ADMIN_TOTP_KEY))
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    assert "/account/verify/" not in page.url
    page.goto(daphne_server.url + "/admin/")
    assert page.url == daphne_server.url + "/admin/"


def test_an_operator_turns_on_two_step_verification(new_page, daphne_server, artifacts):
    import base64

    page = new_page("operator2")
    page.goto(daphne_server.url + "/account/two-step/")
    assert page.locator("#totp-qr svg").is_visible()
    page.screenshot(path=artifacts / "two-step-enrol.png", full_page=True)
    key = base64.b32decode(page.locator("#totp-key").inner_text().replace(" ", ""))
    page.fill("input[name=otp_token]", _code(key.hex()))
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("#backup-codes li").count() == 8
    page.screenshot(path=artifacts / "two-step-on.png", full_page=True)


def test_the_login_page_says_when_the_account_is_locked(new_page, daphne_server, artifacts):
    page = new_page()
    for _ in range(5):
        page.goto(daphne_server.url + "/login/")
        page.fill("input[name=username]", "leader1")
        page.fill("input[name=password]", "wrong")
        page.click("button[type=submit]")
    assert "登录失败次数过多" in page.locator("#locked-out").inner_text()
    page.screenshot(path=artifacts / "login-locked.png", full_page=True)
