"""Schemathesis against the live server's own ``/api/schema/``, as several demo roles.

A real ``manage.py serve`` on a copy of the seeded demo database; for each role, schemathesis
generates valid and invalid requests for every operation the schema lists and fails on any 5xx
(``not_a_server_error``) or any answer the schema does not promise (status code, body shape).
Mutating operations change the copy, never the template. Bounded: a few examples per operation.
"""

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.e2e import servers

# The roles whose views of the API differ most: the hotline's operator and coordinator, a
# receiving centre's counsellor, a responder (police) and a decision maker.
ROLES = ["operator1", "coordinator1", "counsellor1", "police1", "leader1"]
CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance"
MAX_EXAMPLES = 4
# Each role's run stops after this many seconds (the coverage phase takes about 30).
SECONDS_PER_ROLE = 36
# This round's operations, each run on its own so the whole-schema run's time limit cannot
# leave them out: the live call's conference (hold, hang-up, transfer, supervision, need help),
# text conversations (messages, typing, end), the safety plan, responders joined to a call, the
# FHIR export and Encounter, and the partners' signed leg status.
NEW_OPERATIONS = (
    "^/api/v1/calls/[^/]+/(conference|hold|hang-up|transfer|supervise|need-help|messages|typing|end)/"
    "|^/api/v1/cases/[^/]+/safety-plan/|^/api/v1/dispatches/[^/]+/conference/"
    "|^/api/v1/referrals/[^/]+/fhir/|^/api/v1/partners/|^/api/v1/calls/$"
)
NEW_ROLES = ["operator1", "coordinator1", "counsellor1", "nurse1"]

# PostgreSQL is where bad input became a 500 (NUL bytes, bigint overflow); SQLite forgives both,
# so the run belongs to the PostgreSQL pass of the suite (and CI's time is spent once).
pytestmark = pytest.mark.postgres


def api_token(base_url: str, username: str, password: str) -> tuple[str, str]:
    """An API token for ``username``: ``(scheme, token)`` for the Authorization header.

    The one place that knows how the API issues tokens: DRF's authtoken and knox both answer
    ``{"token": ...}`` (knox adds ``expiry``); knox's scheme is ``Token`` too by default.
    """
    request = urllib.request.Request(
        base_url + "/api/v1/auth/token/",
        data=json.dumps({"username": username, "password": password}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        body = json.load(response)
    return "Token", body["token"]


def run_schemathesis(
    base_url: str,
    username: str,
    report: Path,
    workdir: Path,
    paths: str | None = None,
    max_examples: int = MAX_EXAMPLES,
) -> subprocess.CompletedProcess:
    scheme, token = api_token(base_url, username, servers.DEMO_PASSWORD)
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        base_url + "/api/schema/",
        "--url",
        base_url,
        "--header",
        f"Authorization: {scheme} {token}",
        "--checks",
        CHECKS,
        # Logging out revokes the very token the run uses; tests/core/test_accounts.py covers it.
        "--exclude-path-regex",
        "^/api/v1/auth/logout",
        *(["--include-path-regex", paths] if paths else []),
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        str(max_examples),
        "--workers",
        "2",
        "--seed",
        "14",
        "--no-shrink",
        "--suppress-health-check",
        "all",
        "--request-timeout",
        "10",
        "--max-time",
        str(SECONDS_PER_ROLE),
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(report),
    ]
    # In a directory of its own: schemathesis keeps a cache of past failures in its working
    # directory and replays them, and each run must start from nothing.
    return subprocess.run(
        command, cwd=workdir, capture_output=True, text=True, timeout=SECONDS_PER_ROLE * 4
    )


@pytest.fixture(scope="module")
def api_server(tmp_path_factory, artifacts):
    tmp = tmp_path_factory.mktemp("schemathesis")
    env = servers.server_env(servers.fresh_database_url(tmp, "schemathesis"), tmp / "static")
    servers.prepare(env)
    server = servers.Server(env, artifacts / "schemathesis-server.log")
    yield server
    server.stop()


@pytest.mark.timeout(SECONDS_PER_ROLE * 5 + 60)
@pytest.mark.parametrize("username", ROLES)
def test_no_server_error_and_schema_holds(api_server, artifacts, tmp_path, username):
    started = time.monotonic()
    report = artifacts / f"schemathesis-{username}.ndjson"
    result = run_schemathesis(api_server.url, username, report, tmp_path)
    output = result.stdout + result.stderr
    (artifacts / f"schemathesis-{username}.txt").write_text(output)
    print(f"{username}: {time.monotonic() - started:.0f}s\n{output[-1500:]}")
    assert result.returncode == 0, output[-6000:]


@pytest.mark.timeout(SECONDS_PER_ROLE * 5 + 60)
@pytest.mark.parametrize("username", NEW_ROLES)
def test_the_new_operations_hold(api_server, artifacts, tmp_path, username):
    report = artifacts / f"schemathesis-new-{username}.ndjson"
    result = run_schemathesis(
        api_server.url, username, report, tmp_path, paths=NEW_OPERATIONS, max_examples=8
    )
    output = result.stdout + result.stderr
    (artifacts / f"schemathesis-new-{username}.txt").write_text(output)
    print(f"{username}:\n{output[-1500:]}")
    assert result.returncode == 0, output[-6000:]
