"""Redis SIGKILLed for a few seconds while events are published, consoles kept connected: the
table is the truth, so every console ends with every event, without reconnecting; a handshake
during the outage is refused with a close code the client retries on."""

import asyncio
import time

import pytest
import websockets

from realtime.consumers import CLOSE_UNAVAILABLE
from tests.e2e import servers
from tests.faults.procs import LiveConsole, RedisServer, database_env, publisher
from tests.realtime.http import Api

USERS = ["operator1", "operator2"]
CONSOLES_PER_USER = 3
EVENTS = 40  # at 5 a second: 8 s, the outage in the middle


@pytest.fixture
def outage_setup(tmp_path):
    redis = RedisServer()
    env = database_env(tmp_path, "outage", REDIS_URL=redis.url, CHANNEL_PREFIX="outage")
    server = servers.Server(env, tmp_path / "serve.log")
    yield redis, server, env
    server.stop()
    redis.stop()


@pytest.mark.timeout(300)  # the first server of a test process builds the seeded template
@pytest.mark.redis
@pytest.mark.postgres
async def test_connected_consoles_miss_nothing_while_redis_is_down(outage_setup):
    redis, server, env = outage_setup
    apis = [await asyncio.to_thread(Api, server.url, u, servers.DEMO_PASSWORD) for u in USERS]
    tokens = [api.token for api in apis]
    consoles = [
        await LiveConsole(server.url, token).open()
        for token in tokens
        for _ in range(CONSOLES_PER_USER)
    ]
    source = publisher(env, USERS, count=EVENTS, pause=0.2, type_="test.outage")
    await source.wait_for(5)
    redis.kill()
    down_at, at_kill = time.monotonic(), len(source.ids)
    try:
        # A new console during the outage: refused cleanly, not an HTTP 500.
        with pytest.raises(websockets.ConnectionClosed) as refused:
            async with websockets.connect(
                server.url.replace("http://", "ws://") + "/ws/console/",
                additional_headers={"Authorization": f"Token {tokens[0]}"},
            ) as ws:
                await asyncio.wait_for(ws.recv(), 5)
        assert refused.value.rcvd.code == CLOSE_UNAVAILABLE
        await asyncio.sleep(max(0.0, 4 - (time.monotonic() - down_at)))
    finally:
        during = len(source.ids) - at_kill
        redis.start()
    published = await source.finish()
    assert len(published) == EVENTS
    print(f"\n{during} events committed while Redis was down")

    for c in consoles:
        await c.wait_for(lambda f, c=c: published <= c.ids("test.outage"), 15)
    missing = [len(published - c.ids("test.outage")) for c in consoles]
    print(f"events missing per console after a Redis outage (consoles kept connected): {missing}")
    assert missing == [0] * len(consoles)
    assert all(c.close_code is None for c in consoles), "a console was dropped"
    for c in consoles:  # and each event once
        events = [f["id"] for f in c.frames if f["type"] == "test.outage"]
        assert len(events) == len(set(events))
    # After the outage the live path works again: a new console connects.
    late = await LiveConsole(server.url, tokens[0]).open()
    await late.close()
    for c in consoles:
        await c.close()
