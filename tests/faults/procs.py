"""Real processes for fault tests: a redis-server of the test's own, a TCP proxy that can be cut,
a publisher that calls ``realtime.publish`` in its own process, and console clients."""

import asyncio
import contextlib
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import websockets

from tests.e2e import servers

ROOT = Path(__file__).resolve().parents[2]


class RedisServer:
    """``redis-server`` on a free port, no persistence; ``kill()`` is SIGKILL, ``start()`` again
    comes back on the same port."""

    def __init__(self):
        self.port = servers.free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(5)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.kill()


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a target; ``cut()`` drops every connection and refuses new
    ones (the server is unreachable), ``restore()`` listens again."""

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.port = servers.free_port()
        self.pairs: list[socket.socket] = []
        self.lock = threading.Lock()
        self.listener = None
        self.restore()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.pairs += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a, b) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        with contextlib.suppress(OSError):  # stop listening now: new connections are refused
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        with self.lock:
            pairs, self.pairs = self.pairs, []
        for s in pairs:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()


PUBLISHER = """
import sys, time
from django.db import transaction
from directory.models import User
from realtime import audiences as aud
from realtime.publish import publish
users = [User.objects.get(username=n) for n in {usernames!r}]
targets = [aud.user(u.pk) for u in users]
for n in range({count}):
    with transaction.atomic():
        event = publish({type!r}, data={{"n": n}}, audiences=targets)
    print(event.id, flush=True)
    time.sleep({pause})
"""

HOLDER = """
import sys
from django.db import transaction
from directory.models import User
from realtime import audiences as aud
from realtime.publish import publish
targets = [aud.user(User.objects.get(username=n).pk) for n in {usernames!r}]
with transaction.atomic():
    ids = [publish({type!r}, data={{"n": n}}, audiences=targets).id for n in range({count})]
    print(" ".join(map(str, ids)), flush=True)
    sys.stdin.readline()  # hold the transaction open until told to commit
print("committed", flush=True)
"""


def shell(env: dict, code: str, **kwargs) -> subprocess.Popen:
    """``manage.py shell -c code`` in a process of its own, on the server's database and layer."""
    return subprocess.Popen(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        **kwargs,
    )


class Publisher:
    """Publishes ``count`` events, one transaction each, ``pause`` seconds apart; ``ids`` fills
    as they commit."""

    def __init__(self, env: dict, usernames, *, count: int, pause: float, type_: str):
        code = PUBLISHER.format(usernames=list(usernames), count=count, pause=pause, type=type_)
        self.process = shell(env, code)
        self.ids: list[int] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            if line.strip().isdigit():
                self.ids.append(int(line))

    async def wait_for(self, n: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while len(self.ids) < n:
            if time.monotonic() > deadline or self.process.poll() not in (None, 0):
                raise RuntimeError(f"the publisher committed only {len(self.ids)} events")
            await asyncio.sleep(0.05)

    async def finish(self, timeout: float = 60) -> set[int]:
        await asyncio.to_thread(self.process.wait, timeout)
        await asyncio.to_thread(self.reader.join, 5)
        return set(self.ids)


def publisher(env: dict, usernames, *, count: int, pause: float, type_: str) -> Publisher:
    return Publisher(env, usernames, count=count, pause=pause, type_=type_)


def holder(env: dict, usernames, *, count: int, type_: str):
    code = HOLDER.format(usernames=list(usernames), count=count, type=type_)
    return shell(env, code, stdin=subprocess.PIPE)


class LiveConsole:
    """A console on a real server that records every frame until it is closed."""

    def __init__(self, base_url: str, token: str, last_event_id: int | None = None):
        self.url = base_url.replace("http://", "ws://") + "/ws/console/"
        if last_event_id is not None:
            self.url += f"?last_event_id={last_event_id}"
        self.token = token
        self.frames: list[dict] = []
        self.close_code: int | None = None
        self.task = None
        self.ws = None

    async def open(self) -> "LiveConsole":
        self.ws = await websockets.connect(
            self.url, additional_headers={"Authorization": f"Token {self.token}"}
        )
        self.task = asyncio.ensure_future(self._read())
        await self.wait_for(lambda f: f["type"] == "hello", 10)
        return self

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                frame = json.loads(raw)
                self.frames.append(frame)
                if frame["type"] == "heartbeat":  # a live client answers, as live.js does
                    await self.ws.send(json.dumps({"type": "pong"}))
        except websockets.ConnectionClosed:
            pass
        self.close_code = self.ws.close_code

    def ids(self, type_: str) -> set[int]:
        return {f["id"] for f in self.frames if f["type"] == type_}

    def resume_from(self) -> int:
        """What a client reconnects from: the server's low-water mark when it sends one, else
        the newest id (today's client)."""
        marks = [f["resume_from"] for f in self.frames if "resume_from" in f]
        if marks:
            return marks[-1]
        return max(f["last_event_id"] for f in self.frames if "last_event_id" in f)

    async def wait_for(self, predicate, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(predicate(f) for f in self.frames):
                return True
            if self.task is not None and self.task.done():
                return False
            await asyncio.sleep(0.05)
        return False

    async def close(self) -> None:
        await self.ws.close()
        await self.task


def database_env(tmp, name: str, **extra) -> dict:
    """A served database copied from the seeded template, and short realtime timings."""
    env = servers.server_env(servers.fresh_database_url(tmp, name), tmp / "static")
    servers.prepare(env)
    env.update(
        REALTIME_HEARTBEAT_SECONDS="0.5",
        REALTIME_HEARTBEAT_MISSES="6",
        REALTIME_GAP_SETTLE_SECONDS="0.3",
    )
    env.pop("REDIS_URL", None)  # never the shared Redis: a test's own, when it passes one
    env.pop("CHANNEL_PREFIX", None)
    return {**env, **extra}
