"""The console's database becomes unreachable (a TCP proxy the test cuts): the socket stays open,
heartbeats go on, and once the database is back the heartbeat reads the table again. A frame
nested 3,000 levels deep gets an error frame from the real server, not a close."""

import asyncio
import json
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.e2e import servers
from tests.faults.procs import LiveConsole, TcpProxy, database_env, publisher
from tests.realtime.http import Api


@pytest.fixture
def behind_a_proxy(tmp_path):
    env = database_env(tmp_path, "beat")
    parts = urlsplit(env["DATABASE_URL"])
    proxy = TcpProxy(parts.hostname, parts.port or 5432)
    served_env = dict(env)
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0] + "@" if len(netloc) == 2 else ""
    served_env["DATABASE_URL"] = urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{proxy.port}"))
    served_env["ESCALATION_WORKER_IN_PROCESS"] = "0"
    server = servers.Server(served_env, tmp_path / "serve.log")
    yield server, env, proxy
    server.stop()
    proxy.cut()


@pytest.mark.timeout(300)
@pytest.mark.postgres
async def test_the_heartbeat_outlives_an_unreachable_database(behind_a_proxy):
    server, env, proxy = behind_a_proxy
    token = (await asyncio.to_thread(Api, server.url, "operator1", servers.DEMO_PASSWORD)).token
    c = await LiveConsole(server.url, token).open()
    assert await c.wait_for(lambda f: f["type"] == "heartbeat", 5)

    proxy.cut()
    cut_at = len(c.frames)
    await asyncio.sleep(3)  # beats of 0.5 s (each waits at most a beat for the database)
    beats = [f for f in c.frames[cut_at:] if f["type"] == "heartbeat"]
    assert c.close_code is None, f"closed with {c.close_code}"
    assert len(beats) >= 2, "the heartbeat stopped"
    proxy.restore()

    # Published by another process, never announced to this server's in-memory layer: only the
    # heartbeat's read of the table can deliver it.
    source = publisher(env, ["operator1"], count=1, pause=0, type_="test.after_outage")
    (event_id,) = await source.finish()
    assert await c.wait_for(lambda f: f.get("id") == event_id, 10)

    deep = "[" * 2000 + "]" * 2000  # under the size limit, over the parser's depth
    for frame in (deep, "x" * 1_000_000):
        await c.ws.send(frame)

    def malformed() -> int:
        return sum(f["type"] == "error" and f["code"] == "malformed" for f in c.frames)

    assert await c.wait_for(lambda f: malformed() == 2, 5)
    await c.ws.send(json.dumps({"type": "ping"}))
    assert await c.wait_for(lambda f: f["type"] == "pong", 5)
    assert c.close_code is None
    await c.close()
