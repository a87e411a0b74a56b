"""Two real Daphne processes on one PostgreSQL + Redis: an event caused through one reaches a
console connected to the other."""

import asyncio
import json

import pytest
import websockets

from tests.e2e import servers
from tests.realtime.http import Api


@pytest.fixture(scope="module")
def two_servers(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("two")
    env = servers.server_env(servers.fresh_database_url(tmp, "two"), tmp / "static")
    servers.prepare(env)
    a = servers.Server(env, tmp / "a.log")
    b = servers.Server(env, tmp / "b.log")
    yield a, b
    a.stop()
    b.stop()


async def frames_until(ws, predicate, timeout=10):
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await ws.recv())
            if predicate(frame):
                return frame


@pytest.mark.redis
@pytest.mark.postgres
async def test_an_event_caused_through_one_process_reaches_a_console_on_the_other(two_servers):
    a, b = two_servers
    operator2 = await asyncio.to_thread(Api, a.url, "operator2", servers.DEMO_PASSWORD)
    operator1 = await asyncio.to_thread(Api, b.url, "operator1", servers.DEMO_PASSWORD)
    ws_url = b.url.replace("http://", "ws://") + "/ws/console/"
    headers = {"Authorization": f"Token {operator1.token}"}
    async with websockets.connect(ws_url, additional_headers=headers) as ws:
        hello = await frames_until(ws, lambda f: f["type"] == "hello")
        case = await asyncio.to_thread(operator2.open_case, "跨进程")
        frame = await frames_until(ws, lambda f: f["type"] == "case.opened")
        assert frame["case"] == case["id"]
        assert frame["id"] > hello["last_event_id"]

    # And the other way round, with a replay on reconnect for what happened in between.
    later = await asyncio.to_thread(operator1.open_case, "重连补发")
    ws_url_a = a.url.replace("http://", "ws://") + f"/ws/console/?last_event_id={frame['id']}"
    async with websockets.connect(ws_url_a, additional_headers=headers) as ws:
        replayed = await frames_until(ws, lambda f: f["type"] == "case.opened")
        assert replayed["case"] == later["id"]


@pytest.mark.redis
@pytest.mark.postgres
async def test_a_foreign_origin_is_refused_by_a_real_server(two_servers):
    a, _ = two_servers
    operator1 = await asyncio.to_thread(Api, a.url, "operator1", servers.DEMO_PASSWORD)
    ws_url = a.url.replace("http://", "ws://") + "/ws/console/"
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(
            ws_url,
            additional_headers={"Authorization": f"Token {operator1.token}"},
            origin="http://evil.example",
        ):
            pass
    assert refused.value.response.status_code == 403
    with pytest.raises(websockets.InvalidStatus):
        async with websockets.connect(ws_url):
            pass
