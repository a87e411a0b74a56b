"""A transaction that commits late: its ids are lower than events committed after it. A console
connected throughout, one that reconnected from the newest id before the commit, and one that was
away while it committed (and reconnects from what the server told it) all get the late events."""

import asyncio

import pytest

from tests.e2e import servers
from tests.faults.procs import LiveConsole, RedisServer, database_env, holder, publisher
from tests.realtime.http import Api

USERS = ["operator1"]


@pytest.fixture
def served(tmp_path):
    redis = RedisServer()
    env = database_env(tmp_path, "late", REDIS_URL=redis.url, CHANNEL_PREFIX="late")
    server = servers.Server(env, tmp_path / "serve.log")
    yield server, env
    server.stop()
    redis.stop()


def _ids(process) -> list[int]:
    line = process.stdout.readline()
    while line and not line.split()[0].isdigit():
        line = process.stdout.readline()
    return [int(x) for x in line.split()]


@pytest.mark.timeout(300)
@pytest.mark.redis
@pytest.mark.postgres
async def test_events_of_a_transaction_that_commits_late_reach_every_console(served):
    server, env = served
    token = (await asyncio.to_thread(Api, server.url, USERS[0], servers.DEMO_PASSWORD)).token
    stays = await LiveConsole(server.url, token).open()
    away = await LiveConsole(server.url, token).open()

    late = holder(env, USERS, count=4, type_="test.late")
    late_ids = set(await asyncio.to_thread(_ids, late))
    after = publisher(env, USERS, count=2, pause=0, type_="test.after")
    after_ids = await after.finish()
    assert min(after_ids) > max(late_ids)  # committed first, numbered after
    newest = max(after_ids)
    for c in (stays, away):
        assert await c.wait_for(lambda f, c=c: after_ids <= c.ids("test.after"), 10)
    # The heartbeat tells the client where to resume from: below the ids still uncommitted.
    assert await away.wait_for(lambda f: f["type"] == "heartbeat", 5)
    await away.close()
    resume = away.resume_from()
    # A client that reconnects from the newest id it saw, before the commit.
    from_newest = await LiveConsole(server.url, token, last_event_id=newest).open()

    late.stdin.write("commit\n")
    late.stdin.flush()
    await asyncio.to_thread(late.communicate, timeout=30)

    back = await LiveConsole(server.url, token, last_event_id=resume).open()
    missing = {}
    for name, c in [("stays", stays), ("from_newest", from_newest), ("away", back)]:
        await c.wait_for(lambda f, c=c: late_ids <= c.ids("test.late"), 10)
        missing[name] = len(late_ids - c.ids("test.late"))
    print(f"\nlate-committed events missing per console: {missing}")
    assert missing == {"stays": 0, "from_newest": 0, "away": 0}
    for c in (stays, from_newest, back):
        await c.close()
