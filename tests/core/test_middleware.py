"""The HTTP stack is Django's own plus named well-kept libraries (ServeStatic, django-otp,
django-axes) and our one account middleware: its deploy checks, nothing silenced."""

import pytest
from django.core.checks import run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError

# Django's own classes in the order its docs give, with ServeStatic after SecurityMiddleware,
# django-otp after authentication, ours (idle sessions, the second-factor gate) after messages,
# django-csp's and the no-store header (tests/core/test_headers.py), and django-axes last, as its
# documentation asks.
EXPECTED_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "servestatic.middleware.ServeStaticMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "directory.middleware.AccountMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "core.middleware.NoStoreMiddleware",
    "axes.middleware.AxesMiddleware",
]


def test_middleware_is_djangos_own_plus_the_named_libraries_and_nothing_else():
    from django.conf import settings

    assert settings.MIDDLEWARE == EXPECTED_MIDDLEWARE


def test_no_system_check_is_silenced():
    from django.conf import settings

    assert settings.SILENCED_SYSTEM_CHECKS == []


def _deploy_warnings() -> set[str]:
    return {m.id for m in run_checks(include_deployment_checks=True, tags=["security"])}


def test_deploy_checks_report_each_unsafe_setting(settings):
    settings.DEBUG = False
    settings.SECURE_HSTS_SECONDS = 0
    settings.SECURE_SSL_REDIRECT = False
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    # Django runs these only when it finds its security, session and CSRF middleware.
    assert {"security.W004", "security.W008", "security.W012", "security.W016"} <= (
        _deploy_warnings()
    )


def test_a_missing_security_middleware_is_reported_by_django_itself(settings):
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if not m.endswith(".SecurityMiddleware")]
    assert "security.W001" in _deploy_warnings()


@pytest.mark.django_db  # the model checks ask the database what it supports
def test_check_deploy_is_clean_with_the_production_settings(settings):
    settings.DEBUG = False
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    settings.SECURE_SSL_REDIRECT = True
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    settings.SECRET_KEY = "kD8-vQ2_" * 8  # long and varied: the default is refused (test_headers)
    settings.SALT_KEY = ["field-key-of-production-" + "q7Z" * 12]  # FIELD_ENCRYPTION_KEY
    call_command("check", deploy=True, fail_level="WARNING")  # raises on any warning
    settings.CSRF_COOKIE_SECURE = False
    with pytest.raises(SystemCheckError, match=r"security\.W016"):
        call_command("check", deploy=True, fail_level="WARNING")
