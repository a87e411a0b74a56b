"""``manage.py simulate_call``: a newcomer's call arrives on a real running server through the
real, signed voice webhook, without a Twilio account."""

import subprocess
import sys

import pytest

from tests.e2e import servers
from tests.realtime.http import Api

TOKEN = "simulate-call-demo-token"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("simulate")
    env = servers.server_env(
        servers.fresh_database_url(tmp, "simulate"), tmp / "static", TWILIO_AUTH_TOKEN=TOKEN
    )
    env.pop("TWILIO_ACCOUNT_SID", None)
    env.pop("TWILIO_WEBHOOK_BASE_URL", None)
    servers.prepare(env)
    running = servers.Server(env, tmp / "serve.log")
    yield running, env
    running.stop()


def simulate(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "simulate_call", *args],
        cwd=servers.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _calls_from(api: Api, number: str) -> list[dict]:
    listing = api.call("GET", "/api/v1/calls/")
    rows = listing["results"] if isinstance(listing, dict) else listing
    return [c for c in rows if number in (c.get("from_number") or "")]


def test_a_simulated_call_arrives_in_the_operators_queue(server):
    running, env = server
    done = simulate(env, "--from", "+8613912345678", "--server", running.url)
    assert done.returncode == 0, done.stderr
    assert "+8613912345678" in done.stdout
    operator = Api(running.url, "operator1", servers.DEMO_PASSWORD)
    calls = _calls_from(operator, "13912345678")
    assert len(calls) == 1
    assert calls[0]["channel"] == "twilio_voice"
    # The demo operators start available, so the call is offered at once, not left waiting.
    assert calls[0]["status"] == "offered"


def test_a_wrong_token_is_refused_and_no_call_arrives(server):
    running, env = server
    done = simulate(
        {**env, "TWILIO_AUTH_TOKEN": "not-the-servers"},
        "--from",
        "+8613700000001",
        "--server",
        running.url,
    )
    assert done.returncode != 0
    assert "403" in done.stderr and "TWILIO_AUTH_TOKEN differs" in done.stderr
    operator = Api(running.url, "operator1", servers.DEMO_PASSWORD)
    assert _calls_from(operator, "13700000001") == []


def test_without_a_token_it_says_what_to_set(server):
    _running, env = server
    done = simulate({**env, "TWILIO_AUTH_TOKEN": ""}, "--from", "+8613700000002")
    assert done.returncode != 0
    assert "TWILIO_AUTH_TOKEN is not set" in done.stderr


def test_no_server_is_said_in_words(server):
    _running, env = server
    port = servers.free_port()
    done = simulate(env, "--from", "+8613700000003", "--server", f"http://127.0.0.1:{port}")
    assert done.returncode != 0
    assert "No server at" in done.stderr
