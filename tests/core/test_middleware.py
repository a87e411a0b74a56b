"""Under ASGI the middleware hooks run on the event loop; only a session save goes to a thread."""

import pytest
from django.test import AsyncClient

from core import middleware


@pytest.fixture
def hops(monkeypatch):
    """Every hook ``core.middleware`` sends to a thread, by middleware class."""
    seen = []
    real = middleware.sync_to_async

    def counting(fn, **kwargs):
        seen.append(type(fn.__self__).__name__)
        return real(fn, **kwargs)

    monkeypatch.setattr(middleware, "sync_to_async", counting)
    return seen


@pytest.mark.django_db(transaction=True)
async def test_a_plain_request_passes_every_middleware_without_a_thread(hops, monkeypatch):
    from asgiref.sync import SyncToAsync

    threaded = []
    real_init = SyncToAsync.__init__

    def init(self, func, *args, **kwargs):
        threaded.append(getattr(func, "__qualname__", repr(func)))
        real_init(self, func, *args, **kwargs)

    monkeypatch.setattr(SyncToAsync, "__init__", init)
    response = await AsyncClient().get("/healthz")
    assert response.status_code == 200
    assert response.headers["X-Frame-Options"] == "DENY"  # the hooks still ran
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert hops == []
    assert not [name for name in threaded if ".process_" in name]


@pytest.mark.django_db(transaction=True)
async def test_a_log_in_saves_its_session_in_a_thread_and_the_session_works(operator, hops):
    client = AsyncClient()
    response = await client.post("/login/", {"username": "operator", "password": "pw-for-tests-1"})
    assert response.status_code == 302
    assert "SessionMiddleware" in hops  # the new session was written to the database
    hops.clear()
    page = await client.get("/console/")
    assert page.status_code == 200 and "热线接线台" in page.content.decode()
    assert "SessionMiddleware" not in hops  # read, not modified: no save, no thread


@pytest.mark.django_db(transaction=True)
async def test_csrf_is_still_enforced_on_the_loop(operator):
    client = AsyncClient(enforce_csrf_checks=True)
    response = await client.post("/login/", {"username": "operator", "password": "x"})
    assert response.status_code == 403


def test_sessions_in_csrf_are_refused(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.CSRF_USE_SESSIONS = True
    with pytest.raises(ImproperlyConfigured):
        middleware.CsrfViewMiddleware(lambda request: None)


def _deploy_warnings():
    from django.core.checks import run_checks

    found = run_checks(include_deployment_checks=True, tags=["security"])
    return {m.id for m in found if not m.is_silenced()}


def test_deploy_checks_still_look_at_the_security_middleware(settings):
    settings.DEBUG = False
    settings.SECURE_HSTS_SECONDS = 0
    settings.SECURE_SSL_REDIRECT = False
    ids = _deploy_warnings()
    # Django alone would see no SecurityMiddleware and skip both.
    assert {"security.W004", "security.W008"} <= ids
    assert not ids & {"core.W001", "core.W002", "core.W003"}


def test_a_missing_security_middleware_is_still_reported(settings):
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if not m.endswith("SecurityMiddleware")]
    assert "core.W001" in _deploy_warnings()
