import subprocess
import sys

from django.conf import settings

from tests.factories import UserFactory


def test_healthz_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_checks_database_and_channel_layer(client, db):
    from django.utils import timezone

    from escalation import worker

    worker.beat("test-worker", timezone.now(), 0)  # a live escalation worker
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    assert response.json()["checks"]["database"] == "ok"
    assert response.json()["checks"]["channel_layer"] == "ok"


def test_readyz_is_503_with_the_reason_when_a_check_fails(client, db, monkeypatch):
    from core import health

    monkeypatch.setitem(health._checks, "database", lambda: "connection refused")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "connection refused"


def test_token_auth_returns_a_token_and_refuses_a_bad_password(anonymous_api, operator):
    ok = anonymous_api.post(
        "/api/v1/auth/token/", {"username": "operator", "password": "pw-for-tests-1"}
    )
    assert ok.status_code == 200 and len(ok.json()["token"]) == 64 and ok.json()["expiry"]
    bad = anonymous_api.post("/api/v1/auth/token/", {"username": "operator", "password": "nope"})
    assert bad.status_code == 400


def test_the_openapi_schema_and_docs_are_served(client, db):
    client.force_login(UserFactory())  # members only (tests/core/test_headers.py)
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/cases/{id}/timeline/" in schema.content
    assert client.get("/api/docs/").status_code == 200


def test_the_schema_generates_without_warnings():
    result = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--fail-on-warn", "--file", "/dev/null"],
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
    )
    assert result.returncode == 0, result.stderr


def test_check_deploy_passes_with_production_values():
    env = {
        "PATH": "/usr/bin:/bin",
        "SECRET_KEY": "x" * 64 + "production-like-secret-value-for-the-check",
        "DEBUG": "0",
        "ALLOWED_HOSTS": "hotline.example.org",
        "SECURE_SSL_REDIRECT": "1",
        "SESSION_COOKIE_SECURE": "1",
        "CSRF_COOKIE_SECURE": "1",
        "SECURE_HSTS_SECONDS": "31536000",
        "FIELD_ENCRYPTION_KEY": "field-key-of-production-" + "q7Z" * 12,
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
