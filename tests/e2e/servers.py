"""Real servers for end-to-end tests: a fresh database, migrated and seeded, served by Daphne.

The server runs in a subprocess, so it cannot see pytest-django's test database: it gets a
database of its own (a new PostgreSQL database when DATABASE_URL points at PostgreSQL, else a
temporary SQLite file) and reads it exactly as production would. Migrating and seeding take
most of a server's start, so it is done once per test process into a template that each
server's database is copied from (PostgreSQL's ``CREATE DATABASE ... TEMPLATE``, a file copy
for SQLite), with the static files collected once beside it.
"""

import atexit
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tests.twilio_recorder import sign

ROOT = Path(__file__).resolve().parents[2]
DEMO_PASSWORD = "e2e-demo-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _admin_url(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/postgres"))


def _database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def fresh_database_url(tmp_path: Path, name: str) -> str:
    url = os.environ.get("DATABASE_URL", "")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:  # parallel workers: a database of each worker's own
        name = f"{name}_{worker}"
    if not url.startswith(("postgres://", "postgresql://")):
        return f"sqlite:///{tmp_path / (name + '.sqlite3')}"
    import psycopg

    parts = urlsplit(url)
    db = f"{parts.path.lstrip('/') or 'crisisline'}_{name}"
    with psycopg.connect(_admin_url(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{db}"')
    return urlunsplit(parts._replace(path=f"/{db}"))


def server_env(database_url: str, static_root: Path, **extra) -> dict:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        STATIC_ROOT=str(static_root),
        DEMO_PASSWORD=DEMO_PASSWORD,
        DEBUG="0",
        **extra,
    )
    return env


def manage(env: dict, *args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True
    )


_template: dict = {}


def _seeded_template() -> dict:
    """The migrated and seeded demo database and the collected static files, made once."""
    if not _template:
        tmp = Path(tempfile.mkdtemp(prefix="e2e-template-"))
        env = server_env(fresh_database_url(tmp, "template"), tmp / "static")
        manage(env, "migrate", "--noinput")
        manage(env, "seed_demo")
        manage(env, "collectstatic", "--noinput")
        _template.update(database_url=env["DATABASE_URL"], static_root=env["STATIC_ROOT"])
        atexit.register(_drop_template, env["DATABASE_URL"], tmp)
    return _template


def _drop_template(url: str, tmp: Path) -> None:
    if url.startswith(("postgres://", "postgresql://")):
        import psycopg

        with psycopg.connect(_admin_url(url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{_database_name(url)}" WITH (FORCE)')
    shutil.rmtree(tmp, ignore_errors=True)


def prepare(env: dict) -> None:
    """Make ``env``'s database a copy of the seeded template and serve the collected statics."""
    template = _seeded_template()
    url, source = env["DATABASE_URL"], template["database_url"]
    if url.startswith(("postgres://", "postgresql://")):
        import psycopg

        with psycopg.connect(_admin_url(url), autocommit=True) as conn:
            target = _database_name(url)
            conn.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{target}" TEMPLATE "{_database_name(source)}"')
    else:
        source_path, target_path = source.removeprefix("sqlite:///"), url.removeprefix("sqlite:///")
        for suffix in ("", "-wal"):  # the write-ahead log too, should a writer have left one
            if Path(source_path + suffix).exists():
                shutil.copyfile(source_path + suffix, target_path + suffix)
    env["STATIC_ROOT"] = template["static_root"]


class Server:
    """``manage.py serve`` in a subprocess; ``url`` once /healthz answers."""

    def __init__(self, env: dict, log_path: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--port", str(self.port)],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self._wait_until_up()

    def _wait_until_up(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"server exited with {self.process.returncode}; see {self.log.name}"
                )
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"server did not come up in {timeout}s; see {self.log.name}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def serve(tmp_path_factory, artifacts: Path, name: str, setup: str = "", **extra):
    """A server of its own for the module (for ``yield from`` in a fixture): its database, the
    settings in ``extra``, ``setup`` run in ``manage.py shell`` before it starts; stopped after."""
    tmp = tmp_path_factory.mktemp(name)
    env = server_env(fresh_database_url(tmp, name), tmp / "static", **extra)
    prepare(env)
    if setup:
        manage(env, "shell", "-c", setup)
    server = Server(env, artifacts / f"server-{name}.log")
    yield server
    server.stop()


# Twilio's webhooks, signed as Twilio signs them, to a server started with this auth token.
TWILIO_TOKEN = "e2e-twilio-auth-token"


def signed_post(
    server: Server, path: str, params: dict, token: str = TWILIO_TOKEN
) -> tuple[int, str]:
    """POST a Twilio webhook (form-encoded, ``X-Twilio-Signature``): the answer's status and
    body."""
    url = server.url + path
    request = urllib.request.Request(
        url,
        data=urllib.parse.urlencode(params).encode(),
        headers={"X-Twilio-Signature": sign(url, params, token)},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read().decode()


def incoming_call(server: Server, call_sid: str, from_number: str, **kw) -> str:
    """A call to the hotline number rings (Twilio's incoming-call webhook); the TwiML answer."""
    params = {"CallSid": call_sid, "From": from_number, "To": "+865722251885"}
    return signed_post(server, "/twilio/voice/incoming/", params, **kw)[1]
