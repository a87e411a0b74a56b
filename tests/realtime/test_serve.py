"""``manage.py serve`` on the embedded default (SQLite, in-memory channel layer), as ``make run``
serves it: a fresh checkout's static files, and the in-process worker's events reaching consoles
live."""

import asyncio
import json
import re
import urllib.request
from pathlib import Path

import pytest
import websockets

from tests.e2e import servers
from tests.realtime.http import Api


class FirstRun(servers.Server):
    def _wait_until_up(self, timeout: float = 120) -> None:
        # The first start collects the static files before it listens.
        super()._wait_until_up(timeout)

    def log_text(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text()


@pytest.fixture(scope="module")
def embedded_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve")
    static_root = tmp / "static"  # empty: nobody has run collectstatic
    env = servers.server_env(f"sqlite:///{tmp / 'db.sqlite3'}", static_root)
    env.pop("REDIS_URL", None)
    env.pop("CHANNEL_PREFIX", None)
    # asyncio's debug mode raises when a loop is touched from another thread, as the in-memory
    # layer's queues would be by a broadcast from a thread that is not the server loop's.
    env["PYTHONASYNCIODEBUG"] = "1"
    servers.manage(env, "migrate", "--noinput")
    servers.manage(env, "seed_demo")
    server = FirstRun(env, tmp / "serve.log")
    yield server, static_root
    server.stop()


def get(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.headers["Content-Type"], response.read()


def test_a_fresh_checkout_serves_its_pages_with_their_css(embedded_server):
    server, static_root = embedded_server
    status, _, body = get(server.url + "/login/")
    assert status == 200
    stylesheets = re.findall(r'href="(/static/[^"]+\.css)"', body.decode())
    assert stylesheets, "the page links no stylesheet"
    for path in stylesheets:
        status, content_type, css = get(server.url + path)
        assert status == 200 and content_type.startswith("text/css") and css
    assert (static_root / "staticfiles.json").exists()


async def frames_until(ws, predicate, timeout=20):
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await ws.recv())
            if predicate(frame):
                return frame


async def test_what_the_in_process_worker_publishes_reaches_a_console_live(embedded_server):
    """The worker's thread belongs to Daphne's loop, so its broadcast reaches the in-memory
    layer's queues there: the console gets it at once, not on its next replay."""
    server, _ = embedded_server
    operator = await asyncio.to_thread(Api, server.url, "operator1", servers.DEMO_PASSWORD)
    ws_url = server.url.replace("http://", "ws://") + "/ws/console/"
    headers = {"Authorization": f"Token {operator.token}"}
    async with websockets.connect(ws_url, additional_headers=headers) as ws:
        hello = await frames_until(ws, lambda f: f["type"] == "hello")
        case = await asyncio.to_thread(operator.open_case, "一键测试", "imminent")
        body = {"case": case["id"], "address": "长兴县泗安镇泗安村12号"}
        await asyncio.to_thread(operator.call, "POST", "/api/v1/dispatches/", body)
        # The dispatch's messages (and those of the alerts it raises) are sent only by the
        # worker: services.deliver, fired from a SEND timer, publishes message.sent.
        sent = await frames_until(ws, lambda f: f["type"] == "message.sent")
        assert sent["id"] > hello["last_event_id"]
    assert "broadcast failed" not in server.log_text()
