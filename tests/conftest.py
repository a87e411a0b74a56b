"""Shared fixtures: a small network and one named user per role (and an outsider).

With REQUIRE_SERVICES=1 (CI) a test that needs PostgreSQL or Redis fails when they are missing
instead of skipping.
"""

import os
import secrets

import pytest
from rest_framework.test import APIClient

from tests.factories import MembershipFactory, OrganisationFactory, RegionFactory, UserFactory

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def pytest_configure(config):
    from django.conf import settings

    # Parallel workers (pytest-xdist) share one Redis: each gets its own channel prefix, also
    # for the servers its tests start (they inherit the environment), so no event crosses over.
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        prefix = f"{os.environ.get('CHANNEL_PREFIX', 'crisisline')}-{worker}"
        os.environ["CHANNEL_PREFIX"] = prefix
        if "prefix" in settings.CHANNEL_LAYERS["default"].get("CONFIG", {}):
            settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = prefix

    # Servers the tests start run with DEBUG off, like production, so they need a real key (the
    # repository's default is refused, core/checks.py); they inherit it from the environment.
    if "SECRET_KEY" not in os.environ:
        os.environ["SECRET_KEY"] = secrets.token_urlsafe(50)
        settings.SECRET_KEY = os.environ["SECRET_KEY"]

    # Tests render pages without running collectstatic first.
    settings.STATIC_ROOT.mkdir(exist_ok=True)  # ServeStatic warns about a missing root
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def using_postgres() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


def redis_available() -> bool:
    from django.conf import settings

    if not settings.REDIS_URL:
        return False
    import redis

    try:
        return bool(redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2).ping())
    except redis.RedisError:
        return False


def _missing(what: str):
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} is required here (REQUIRE_SERVICES=1) but is not configured/reachable")
    pytest.skip(f"{what} not configured; runs in CI")


def pytest_runtest_setup(item):
    if item.get_closest_marker("postgres") and not using_postgres():
        _missing("PostgreSQL (DATABASE_URL)")
    if item.get_closest_marker("redis") and not redis_available():
        _missing("Redis (REDIS_URL)")


@pytest.fixture(scope="session", autouse=True)
def release_test_database(django_db_setup, django_db_blocker):
    """Before the test database is dropped, end the sessions other threads left open on it
    (async tests' ORM calls run on threads no request cycle closes), so PostgreSQL lets it go."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    connection.close()


@pytest.fixture(autouse=True)
def english_messages():
    """Service messages in English for the assertions; pages still follow the request language."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture
def network(db):
    """Two districts, a hotline centre, two counselling centres, a hospital, a police command."""
    city = RegionFactory(code="330500", name="湖州市", level="city")
    wuxing = RegionFactory(code="330502", name="吴兴区", level="district", parent=city)
    deqing = RegionFactory(code="330521", name="德清县", level="district", parent=city)
    village = RegionFactory(
        code="330502001001",
        name="月河社区",
        level="village",
        parent=RegionFactory(code="330502001", name="月河街道", level="township", parent=wuxing),
    )
    orgs = {
        "hotline": OrganisationFactory(code="hotline", kind="hotline_centre", region=city),
        "centre_a": OrganisationFactory(code="centre-a", kind="counselling_centre", region=city),
        "centre_b": OrganisationFactory(code="centre-b", kind="counselling_centre", region=deqing),
        "hospital": OrganisationFactory(
            code="hospital", kind="hospital", region=wuxing, capabilities=["youth_ward"]
        ),
        "police": OrganisationFactory(code="police-wx", kind="police", region=wuxing),
        "taskforce": OrganisationFactory(code="taskforce", kind="guidance_centre", region=city),
    }
    return {"city": city, "wuxing": wuxing, "deqing": deqing, "village": village, **orgs}


def _member(username, org, role, **extra):
    user = UserFactory(username=username, **extra)
    MembershipFactory(user=user, organisation=org, role=role)
    return user


@pytest.fixture
def operator(network):
    return _member("operator", network["hotline"], "operator")


@pytest.fixture
def operator2(network):
    return _member("operator2", network["hotline"], "operator")


@pytest.fixture
def counsellor_a(network):
    return _member("counsellor_a", network["centre_a"], "counsellor")


@pytest.fixture
def counsellor_b(network):
    return _member("counsellor_b", network["centre_b"], "counsellor")


@pytest.fixture
def nurse(network):
    return _member("nurse", network["hospital"], "hospital_staff")


@pytest.fixture
def coordinator(network):
    return _member("coordinator", network["hotline"], "coordinator")


@pytest.fixture
def decision_maker(network):
    return _member("leader", network["taskforce"], "decision_maker")


@pytest.fixture
def responder(network):
    return _member("responder", network["police"], "responder")


@pytest.fixture
def outsider(db):
    """Signed in, but a member of nothing."""
    return UserFactory(username="outsider")


@pytest.fixture
def administrator(network):
    return _member("admin", network["hotline"], "administrator", is_superuser=True, is_staff=True)


def sign_in(client, user, *, second_factor: bool | None = None):
    """Sign a test client in as ``user``, with the second factor done (as /account/verify/ leaves
    a session: django-otp's device id in it) for those who owe one, or when asked."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from directory.accounts import otp_required

    client.force_login(user)
    if second_factor or (second_factor is None and otp_required(user)):
        device, _ = TOTPDevice.objects.get_or_create(
            user=user, name="tests", defaults={"confirmed": True}
        )
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


@pytest.fixture
def anonymous_api():
    return APIClient()


@pytest.fixture
def client_for():
    """``client_for(user)``: a fresh API client signed in with the user's token."""
    from knox.models import AuthToken

    def make(user):
        client = APIClient()
        _instance, token = AuthToken.objects.create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}", HTTP_ACCEPT_LANGUAGE="en")
        return client

    return make


@pytest.fixture
def hotline_case(network, operator):
    """An open, moderate-risk case owned by the hotline centre, opened through the service."""
    from hotline import services

    person = services.create_person(
        operator, name="小周", phone="+8613800000002", home_region=network["village"]
    )
    return services.open_case(
        operator, person=person, owning_organisation=network["hotline"], risk="moderate"
    )


TWILIO_TEST_TOKEN = "test-auth-token-0123456789abcdef"


@pytest.fixture
def twilio(settings):
    """A configured Twilio account whose SDK requests are recorded instead of sent.

    ``twilio.http.requests`` are the requests the SDK built; ``twilio.post(client, path, params)``
    sends a correctly signed webhook.
    """
    from core import telephony
    from tests.twilio_recorder import RecordingHttpClient, sign

    settings.TWILIO_ACCOUNT_SID = "AC" + "0" * 32
    settings.TWILIO_AUTH_TOKEN = TWILIO_TEST_TOKEN
    settings.TWILIO_FROM_NUMBER = "+865722251885"
    settings.TWILIO_WEBHOOK_BASE_URL = ""
    http = RecordingHttpClient()
    telephony.use_http_client(http)
    telephony.use_media_client(http)

    class Twilio:
        def __init__(self):
            self.http = http
            self.token = TWILIO_TEST_TOKEN

        def post(self, client, path, params, *, signature=None):
            url = "http://testserver" + path
            sig = signature if signature is not None else sign(url, params, TWILIO_TEST_TOKEN)
            return client.post(path, params, HTTP_X_TWILIO_SIGNATURE=sig)

    yield Twilio()
    telephony.use_http_client(None)
    telephony.use_media_client(None)
