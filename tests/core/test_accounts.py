"""Accounts (账号安全): lockout on every login path with an alert, expiring and revocable API
tokens, idle sessions, and the second factor administrators must enter."""

import time

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.models import AuthToken
from rest_framework.test import APIClient

from directory import accounts

PASSWORD = "pw-for-tests-1"


@pytest.fixture(autouse=True)
def fresh_throttles():
    cache.clear()  # DRF's throttle history lives in the cache
    yield
    cache.clear()


def code_for(device: TOTPDevice, offset: int = 0) -> str:
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=offset)
    return f"{code:06d}"


def device_for(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


# --- lockout ---------------------------------------------------------------------------------


def test_five_wrong_passwords_lock_the_login_page_even_for_the_right_one(client, operator):
    for _ in range(5):
        client.post("/login/", {"username": "operator", "password": "wrong"})
    response = client.post("/login/", {"username": "operator", "password": PASSWORD})
    assert response.status_code == 429
    assert "locked" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_locked_out_sign_in_reads_in_chinese_on_the_page(client, operator):
    for _ in range(6):
        response = client.post(
            "/login/", {"username": "operator", "password": "wrong"}, HTTP_ACCEPT_LANGUAGE="zh-hans"
        )
    assert response.status_code == 429
    assert "登录失败次数过多" in response.content.decode()


def test_fewer_failures_than_the_limit_still_let_the_right_password_in(client, operator):
    for _ in range(4):
        client.post("/login/", {"username": "operator", "password": "wrong"})
    response = client.post("/login/", {"username": "operator", "password": PASSWORD})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(operator.pk)


def test_the_lockout_is_per_username_and_address(client, operator, operator2):
    for _ in range(6):
        client.post("/login/", {"username": "operator", "password": "wrong"})
    response = client.post("/login/", {"username": "operator2", "password": PASSWORD})
    assert response.status_code == 302


def test_the_admin_login_is_locked_out_too(client, administrator):
    for _ in range(5):
        client.post("/admin/login/", {"username": "admin", "password": "wrong"})
    response = client.post("/admin/login/", {"username": "admin", "password": PASSWORD})
    assert response.status_code == 429


def test_the_token_endpoint_is_locked_out_with_a_429(operator):
    api = APIClient()
    codes = [
        api.post("/api/v1/auth/token/", {"username": "operator", "password": "x"}).status_code
        for _ in range(5)
    ]
    assert codes == [400, 400, 400, 400, 429]  # the fifth failure locks
    locked = api.post("/api/v1/auth/token/", {"username": "operator", "password": PASSWORD})
    assert locked.status_code == 429
    assert "token" not in locked.json()


def test_a_lockout_raises_an_alert_for_the_administrators(client, operator, network):
    from escalation.models import Alert

    for _ in range(5):
        client.post("/login/", {"username": "operator", "password": "wrong"})
    alert = Alert.objects.get(kind="login_lockout")
    assert alert.target_organisation == network["hotline"]
    assert alert.target_role == "administrator"
    assert alert.data["username"] == "operator"
    # More failures in the same cool-off raise nothing new.
    client.post("/login/", {"username": "operator", "password": "wrong"})
    assert Alert.objects.filter(kind="login_lockout").count() == 1


def test_the_token_endpoint_is_throttled_per_address(db, settings):
    # Empty bodies (no password hashing, so the minute's window is not outrun on a slow
    # machine) and no username: no lockout, only the address's rate.
    limit = int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["auth"].split("/")[0])
    api = APIClient()
    codes = [api.post("/api/v1/auth/token/", {}).status_code for _ in range(limit + 1)]
    assert codes == [400] * limit + [429]


# --- API tokens --------------------------------------------------------------------------------


def test_a_token_expires(operator):
    api = APIClient()
    body = api.post("/api/v1/auth/token/", {"username": "operator", "password": PASSWORD}).json()
    assert body["expiry"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {body['token']}")
    assert api.get("/api/v1/cases/").status_code == 200
    AuthToken.objects.filter(user=operator).update(expiry=timezone.now())
    assert api.get("/api/v1/cases/").status_code == 401


def test_api_logout_revokes_the_token_and_logoutall_every_token(operator):
    first, second = APIClient(), APIClient()
    for api in (first, second):
        token = api.post(
            "/api/v1/auth/token/", {"username": "operator", "password": PASSWORD}
        ).json()["token"]
        api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert first.post("/api/v1/auth/logout/").status_code == 204
    assert first.get("/api/v1/cases/").status_code == 401
    assert second.get("/api/v1/cases/").status_code == 200
    third = APIClient()
    token = third.post(
        "/api/v1/auth/token/", {"username": "operator", "password": PASSWORD}
    ).json()["token"]
    third.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert second.post("/api/v1/auth/logoutall/").status_code == 204
    assert third.get("/api/v1/cases/").status_code == 401
    assert not AuthToken.objects.filter(user=operator).exists()


def test_page_logout_ends_the_session_and_revokes_the_users_tokens(client, operator):
    AuthToken.objects.create(user=operator)
    client.force_login(operator)
    response = client.post("/logout/")
    assert response.status_code == 302
    assert not AuthToken.objects.filter(user=operator).exists()
    assert client.get("/console/").status_code == 302


# --- idle sessions -----------------------------------------------------------------------------


def test_an_idle_session_is_signed_out_at_the_next_request(client, operator, settings):
    settings.SESSION_IDLE_MINUTES = 30
    client.force_login(operator)
    assert client.get("/console/").status_code == 200
    session = client.session
    session[accounts.LAST_ACTIVITY] = int(time.time()) - 31 * 60
    session.save()
    response = client.get("/console/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert "_auth_user_id" not in client.session


def test_a_recent_action_keeps_the_session(client, operator):
    client.force_login(operator)
    session = client.session
    session[accounts.LAST_ACTIVITY] = int(time.time()) - 29 * 60
    session.save()
    assert client.get("/console/").status_code == 200
    assert client.session[accounts.LAST_ACTIVITY] > time.time() - 60


def test_a_pages_background_polling_is_not_activity(client, operator):
    client.force_login(operator)
    session = client.session
    stale = int(time.time()) - 10 * 60
    session[accounts.LAST_ACTIVITY] = stale
    session.save()
    client.get("/api/v1/cases/", HTTP_SEC_FETCH_MODE="cors")
    assert client.session[accounts.LAST_ACTIVITY] == stale
    client.get("/console/", HTTP_SEC_FETCH_MODE="navigate")
    assert client.session[accounts.LAST_ACTIVITY] > stale


def test_the_session_has_an_absolute_lifetime(settings):
    assert settings.SESSION_COOKIE_AGE == 12 * 3600


# --- second factor -----------------------------------------------------------------------------


def test_an_administrator_without_a_device_is_sent_to_enrol(client, administrator):
    client.force_login(administrator)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("two-step"))


def test_an_administrator_must_enter_the_code_before_the_admin_site(
    client, administrator, settings
):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # django-otp slows retries after a wrong code
    device = device_for(administrator)
    client.post("/login/", {"username": "admin", "password": PASSWORD})
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith(
        reverse("account-verify")
    )
    wrong = client.post(reverse("account-verify"), {"otp_token": "000000", "next": "/admin/"})
    assert wrong.status_code == 200 and b"otp-error" in wrong.content
    assert client.get("/admin/").status_code == 302
    ok = client.post(reverse("account-verify"), {"otp_token": code_for(device), "next": "/admin/"})
    assert ok.status_code == 302 and ok["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    assert accounts.otp_required(administrator)


def test_verify_refuses_an_offsite_next(client, administrator):
    device = device_for(administrator)
    client.force_login(administrator)
    ok = client.post(
        reverse("account-verify"), {"otp_token": code_for(device), "next": "https://evil.example/"}
    )
    assert ok["Location"] == reverse("home")


def test_an_operator_needs_no_second_factor(client, operator):
    client.force_login(operator)
    assert not accounts.otp_required(operator)
    assert client.get("/console/").status_code == 200


def test_an_operator_who_enrolled_is_asked_for_the_code(client, operator):
    device = device_for(operator)
    client.post("/login/", {"username": "operator", "password": PASSWORD})
    assert client.get("/console/")["Location"].startswith(reverse("account-verify"))
    client.post(reverse("account-verify"), {"otp_token": code_for(device)})
    assert client.get("/console/").status_code == 200


def test_enrolment_shows_a_qr_code_and_turns_on_with_a_code(client, operator, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    client.force_login(operator)
    page = client.get(reverse("two-step"))
    assert page.status_code == 200 and b"<svg" in page.content
    device = TOTPDevice.objects.get(user=operator, confirmed=False)
    wrong = client.post(reverse("two-step"), {"otp_token": "123"})
    assert b"otp-error" in wrong.content
    done = client.post(reverse("two-step"), {"otp_token": code_for(device)})
    assert b"backup-codes" in done.content
    assert TOTPDevice.objects.get(pk=device.pk).confirmed
    assert accounts.has_second_factor(operator)


def test_a_backup_code_works_once(client, operator):
    client.force_login(operator)
    client.get(reverse("two-step"))
    device = TOTPDevice.objects.get(user=operator, confirmed=False)
    codes = client.post(reverse("two-step"), {"otp_token": code_for(device)}).context["codes"]
    client.logout()
    for expected in (302, 200):
        client.force_login(operator)
        response = client.post(reverse("account-verify"), {"otp_token": codes[0]})
        assert response.status_code == expected
        client.logout()


def test_the_token_endpoint_asks_an_administrator_for_the_code(administrator):
    device = device_for(administrator)
    api = APIClient()
    refused = api.post("/api/v1/auth/token/", {"username": "admin", "password": PASSWORD})
    assert refused.status_code == 400 and "otp_token" in refused.json()["fields"]
    ok = api.post(
        "/api/v1/auth/token/",
        {"username": "admin", "password": PASSWORD, "otp_token": code_for(device)},
    )
    assert ok.status_code == 200 and ok.json()["token"]


def test_accounts_verified_is_what_break_glass_can_require(rf, administrator):
    from django.contrib.auth.models import AnonymousUser

    request = rf.get("/")
    request.user = AnonymousUser()
    assert not accounts.accounts_verified(request)
