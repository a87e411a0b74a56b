"""Two real Daphne processes on one PostgreSQL + Redis: an event caused through one reaches a
console connected to the other."""

import asyncio
import json

import pytest
import websockets
from channels.layers import get_channel_layer

from realtime import audiences as aud
from realtime.publish import encode_frame
from tests.e2e import servers
from tests.realtime.http import Api


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("two")
    env = servers.server_env(servers.fresh_database_url(tmp, "two"), tmp / "static")
    servers.prepare(env)
    return env, tmp


@pytest.fixture(scope="module")
def two_servers(prepared):
    env, tmp = prepared
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


@pytest.mark.redis
@pytest.mark.postgres
async def test_a_real_server_writes_an_event_once_to_a_user_in_several_of_its_audiences(
    two_servers,
):
    a, _ = two_servers
    operator1 = await asyncio.to_thread(Api, a.url, "operator1", servers.DEMO_PASSWORD)
    ws_url = a.url.replace("http://", "ws://") + "/ws/console/"
    async with websockets.connect(
        ws_url, additional_headers={"Authorization": f"Token {operator1.token}"}
    ) as ws:
        hello = await frames_until(ws, lambda f: f["type"] == "hello")
        # Straight onto the servers' Redis groups, as publish() would, under an id of its own.
        event = {"id": hello["last_event_id"] + 10**6, "type": "test.twice", "at": "", "case": None}
        message = {"type": "console.event", "event": event, "text": encode_frame(event)}
        groups = [aud.group_name(x) for x in hello["audiences"] if x.startswith("org")]
        assert len(groups) == 2  # the organisation and the role in it
        layer = get_channel_layer()
        for _ in range(2):
            for group in groups:
                await layer.group_send(group, message)
        assert json.loads(await asyncio.wait_for(ws.recv(), 10)) == event
        await ws.send(json.dumps({"type": "ping"}))
        pong = await frames_until(ws, lambda f: f["type"] != "heartbeat")
        assert pong["type"] == "pong" and pong["last_event_id"] == event["id"]
