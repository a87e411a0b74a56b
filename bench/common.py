"""What the benches share: the stack they start, and the clients that drive it from outside.

The benches reach the app only as production's clients do: signed Twilio webhooks over HTTP,
console WebSockets, and ``manage.py`` commands in subprocesses (``serve``, ``escalation_worker``,
``migrate``, ``seed_demo``, ``shell`` for the bench's own users). Nothing here imports the app, so
they keep measuring the same thing whatever its internals become.

The clients are bare asyncio protocols (HTTP/1.1 keep-alive, WebSocket frames, Redis SUBSCRIBE):
they share the machine's cores with the servers, and a client library costs several times the
server's own work per message.
"""

import asyncio
import base64
import contextlib
import json
import multiprocessing as mp
import os
import resource
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
TWILIO_TOKEN = "bench-auth-token-0123456789abcdef"
PUBLIC_BASE = "https://hotline.example"  # the proxy's public URL, the one Twilio signs
WEBHOOK = "/twilio/voice/incoming/"
HOTLINE_NUMBER = "+865722251885"
DEMO_PASSWORD = "bench-demo-password"


# --- figures -------------------------------------------------------------------------------------


def percentile(values, p: float) -> float:
    """Nearest rank: the smallest value with at least p% of the values at or below it."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (0 once it has gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def raise_fd_limit(needed: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def new_event_loop():
    """uvloop when installed (the clients then take less of the cores the servers need)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def run_async(coro):
    return asyncio.run(coro, loop_factory=new_event_loop)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the stack -----------------------------------------------------------------------------------


def services_from_env() -> tuple[str, str]:
    """PostgreSQL and Redis from DATABASE_URL / REDIS_URL (loopback only)."""
    db, redis = os.environ.get("DATABASE_URL", ""), os.environ.get("REDIS_URL", "")
    if not db.startswith(("postgres://", "postgresql://")) or not redis.startswith("redis://"):
        sys.exit(
            "Set DATABASE_URL (PostgreSQL) and REDIS_URL: the Daphne processes share both.\n"
            "e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/crisisline "
            "REDIS_URL=redis://127.0.0.1:6379/0"
        )
    for url in (db, redis):
        if urlsplit(url).hostname not in ("127.0.0.1", "localhost", "::1"):
            sys.exit(f"loopback addresses only: {url}")
    return db, redis


class Stack:
    """A fresh database (migrated, seeded), ``processes`` Daphne servers (``manage.py serve``) and
    one ``manage.py escalation_worker``, as the README's deployment runs them; torn down (and the
    database dropped) on exit.

    ``<DATABASE_URL's name>_<name>`` is the bench's database; each server has its own port, the
    bench's client standing in for the proxy in front of them.
    """

    def __init__(self, name: str, processes: int = 2, worker: bool = True, **extra_env) -> None:
        base, _redis = services_from_env()
        parts = urlsplit(base)
        self.db_name = f"{parts.path.lstrip('/') or 'crisisline'}_{name}"
        self.admin_url = urlunsplit(parts._replace(path="/postgres"))
        self.database_url = urlunsplit(parts._replace(path=f"/{self.db_name}"))
        self.tmp = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
        self.env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "STATIC_ROOT": str(self.tmp / "static"),
            "DEBUG": "0",
            # DEBUG off refuses the repository's default key (core/checks.py).
            "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
            "DEMO_PASSWORD": DEMO_PASSWORD,
            "LOG_LEVEL": "WARNING",
            "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
            "TWILIO_WEBHOOK_BASE_URL": PUBLIC_BASE,
            "HOTLINE_ORGANISATION_CODE": "hotline-centre",  # the seeded centre answers 2251885
            # The timers run beside the servers in their own process, as in production.
            "ESCALATION_WORKER_IN_PROCESS": "0",
            # A bench queues hundreds of calls nobody answers: no 话务高峰 alert for each.
            "HOTLINE_SURGE_QUEUE_LENGTH": str(10**6),
            # The bench's consoles answer Daphne's pings, not the app's heartbeat.
            "REALTIME_HEARTBEAT_SECONDS": "600",
            **{k: str(v) for k, v in extra_env.items()},
        }
        self.n_processes, self.with_worker = processes, worker
        self.servers: list[subprocess.Popen] = []
        self.worker: subprocess.Popen | None = None
        self.ports: list[int] = []

    # The pieces, for use as ``with Stack(...) as stack``.

    def __enter__(self) -> "Stack":
        try:
            self._psql(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            self._psql(f'CREATE DATABASE "{self.db_name}"')
            print(f"preparing {self.db_name} (migrate, seed_demo, collectstatic) ...", flush=True)
            self.manage("migrate", "--noinput")
            self.manage("seed_demo")
            self.manage("collectstatic", "--noinput")
            self.start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
        with contextlib.suppress(Exception):
            self._psql(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _psql(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql)

    def manage(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [PY, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
        )
        if done.returncode:
            sys.exit(f"manage.py {args[0]} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def shell(self, code: str) -> object:
        """Runs ``code`` in ``manage.py shell`` (the app's settings); it prints one JSON line."""
        out = self.manage("shell", "--no-imports", "-c", code)
        return json.loads(out.strip().splitlines()[-1])

    def start(self) -> None:
        self.ports = [free_port() for _ in range(self.n_processes)]
        for i, port in enumerate(self.ports):
            log = open(self.tmp / f"daphne-{i}.log", "wb")  # noqa: SIM115 - the child keeps it
            self.servers.append(
                subprocess.Popen(
                    [PY, "manage.py", "serve", "--port", str(port)],
                    cwd=ROOT,
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
            log.close()
        if self.with_worker:
            log = open(self.tmp / "worker.log", "wb")  # noqa: SIM115
            self.worker = subprocess.Popen(
                [PY, "manage.py", "escalation_worker"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            log.close()
        for port, process in zip(self.ports, self.servers, strict=True):
            self._wait_up(port, process)

    def _wait_up(self, port: int, process: subprocess.Popen) -> None:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if process.poll() is not None:
                sys.exit(f"a server exited; its log:\n{self.log_tail()}")
            url = f"http://127.0.0.1:{port}/healthz"
            with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return
            time.sleep(0.3)
        sys.exit(f"a server did not answer /healthz in 90 s; its log:\n{self.log_tail()}")

    def log_tail(self) -> str:
        return "\n".join(
            f"--- {p.name}\n" + p.read_text(errors="replace")[-3000:]
            for p in sorted(self.tmp.glob("*.log"))
        )

    def problems(self, lines: int = 12) -> str:
        """The servers' and worker's error lines so far (a bench's errors are explained there)."""
        found = []
        for path in sorted(self.tmp.glob("*.log")):
            text = path.read_text(errors="replace").splitlines()
            found += [f"{path.stem}: {t}" for t in text if "Error" in t or "Traceback" in t]
        if not found:
            return "server logs: no errors"
        return f"server logs: {len(found)} error lines, the first:\n" + "\n".join(found[:lines])

    def stop(self) -> None:
        processes = [*self.servers, *([self.worker] if self.worker else [])]
        for p in processes:
            if p.poll() is None:
                p.terminate()
        for p in processes:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.servers, self.worker = [], None

    @property
    def server_pids(self) -> list[int]:
        return [p.pid for p in self.servers]

    @property
    def hosts(self) -> list[tuple[str, int]]:
        return [("127.0.0.1", port) for port in self.ports]


# --- HTTP ----------------------------------------------------------------------------------------


def http_request(method: str, path: str, host: tuple[str, int], body=b"", headers=()) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host[0]}:{host[1]}", *headers]
    if method == "POST":
        lines += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return int(head[9:12])


class Webhooks:
    """Incoming-call webhooks signed as Twilio signs them (the SDK's RequestValidator)."""

    def __init__(self, run_id: str) -> None:
        from twilio.request_validator import RequestValidator

        self.validator = RequestValidator(TWILIO_TOKEN)
        self.run_id = run_id

    def call_sid(self, i: int) -> str:
        return f"CA{self.run_id}{i:024d}"

    def incoming(self, i: int, host: tuple[str, int], known_every: int = 4) -> bytes:
        # Every ``known_every``-th call repeats an earlier caller: a known person with a case.
        n = i - 1 if known_every and i % known_every == known_every - 1 else i
        params = {
            "CallSid": self.call_sid(i),
            "From": f"+86139{int(self.run_id[:3], 16) * 10000 + n % 10000:08d}",
            "To": HOTLINE_NUMBER,
            "CallStatus": "ringing",
        }
        signature = self.validator.compute_signature(PUBLIC_BASE + WEBHOOK, params)
        return http_request(
            "POST", WEBHOOK, host, urlencode(params).encode(), [f"X-Twilio-Signature: {signature}"]
        )


class Result:
    def __init__(self) -> None:
        self.latencies: list[float] = []  # seconds
        self.starts: list[float] = []  # open loop: each latency's scheduled start, from the first
        self.errors: dict[str, int] = {}
        self.elapsed = 0.0

    def error(self, what) -> None:
        self.errors[str(what)] = self.errors.get(str(what), 0) + 1

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def ms(self, p: float) -> float:
        return percentile(self.latencies, p) * 1000

    def tail(self, share: float = 0.01) -> str:
        """When the slowest requests started: a few seconds' cluster is a pause (a neighbour, a
        checkpoint, a collection), a spread is the load itself."""
        pairs = sorted(zip(self.latencies, self.starts, strict=True), reverse=True)
        worst = pairs[: max(1, int(len(pairs) * share))]
        if not self.starts or not worst:
            return ""
        seconds = sorted({int(s) for _, s in worst})
        return (
            f"the slowest {len(worst)} started in second(s) "
            + ", ".join(f"+{s}" for s in seconds[:8])
            + (" ..." if len(seconds) > 8 else "")
            + f" of {max(self.starts):.0f}"
        )


class Pool:
    """Keep-alive connections per server: a free one is reused, else another is opened.

    Like a proxy, it drops a connection idle for longer than ``IDLE_SECONDS``: Daphne (Twisted)
    closes one idle for 60 s, and a request written into that close would fail.
    """

    IDLE_SECONDS = 30

    def __init__(self, hosts: list[tuple[str, int]]) -> None:
        self.hosts = hosts
        self.idle: list[list] = [[] for _ in hosts]
        self.opened = 0

    async def exchange(self, server: int, data: bytes) -> int:
        conn, idle = None, self.idle[server]
        while idle and conn is None:
            reader, writer, since = idle.pop()
            if time.monotonic() - since < self.IDLE_SECONDS:
                conn = reader, writer
            else:
                writer.close()
        if conn is None:
            conn = await asyncio.open_connection(*self.hosts[server])
            self.opened += 1
        reader, writer = conn
        writer.write(data)
        status = await read_response(reader)
        idle.append((reader, writer, time.monotonic()))
        return status

    def close(self) -> None:
        for conns in self.idle:
            for _reader, writer, _since in conns:
                writer.close()
        self.idle = [[] for _ in self.hosts]


async def open_loop(
    pool: Pool, requests: list[list[bytes]], rate: float, on_sent=None, on_answered=None
) -> Result:
    """``requests[i][k]`` for server ``k``; request ``i`` starts at ``i / rate`` seconds whatever
    the answers before it (open loop: a slow server does not slow the offered load), round robin
    over the servers. A latency counts from the scheduled start, so the client's own lateness is
    charged too. ``on_sent(i, t)`` and ``on_answered(i, t)`` are told each request's send and
    answer times (``time.time()``)."""
    result = Result()
    clock = time.perf_counter  # uvloop's loop.time() counts whole milliseconds
    start = clock()
    last = [start]

    async def one(i: int, due: float) -> None:
        server = i % len(pool.hosts)
        if on_sent is not None:
            on_sent(i, time.time())
        try:
            async with asyncio.timeout(30):
                status = await pool.exchange(server, requests[i][server])
        except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
            result.error(type(exc).__name__)
            return
        now = clock()
        if on_answered is not None:
            on_answered(i, time.time())
        last[0] = max(last[0], now)
        if status != 200:
            result.error(status)
        else:
            result.latencies.append(now - due)
            result.starts.append(due - start)

    tasks = []
    for i in range(len(requests)):
        due = start + i / rate
        delay = due - clock()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(one(i, due)))
    await asyncio.gather(*tasks)
    result.elapsed = last[0] - start
    return result


async def closed_loop(pool: Pool, requests: list[list[bytes]], concurrency: int) -> Result:
    """``concurrency`` workers, each taking the next request as soon as its answer is in."""
    result = Result()
    pending = iter(enumerate(requests))
    clock = time.perf_counter

    async def worker() -> None:
        for i, encoded in pending:
            t = clock()
            try:
                status = await pool.exchange(i % len(pool.hosts), encoded[i % len(pool.hosts)])
            except (OSError, asyncio.IncompleteReadError) as exc:
                result.error(type(exc).__name__)
                continue
            if status != 200:
                result.error(status)
            else:
                result.latencies.append(clock() - t)

    start = clock()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.elapsed = clock() - start
    return result


# --- consoles ------------------------------------------------------------------------------------


class Console(asyncio.Protocol):
    """A console WebSocket: the handshake (``Authorization: Token``), then every text frame's
    payload with its receipt time (``time.time()``, decoded after the run)."""

    def __init__(self, host: tuple[str, int], token: str) -> None:
        key = base64.b64encode(os.urandom(16)).decode()
        self.request = (
            f"GET /ws/console/ HTTP/1.1\r\nHost: {host[0]}:{host[1]}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Authorization: Token {token}\r\n\r\n"
        ).encode()
        self.transport = None
        self.buffer = b""
        self.handshaken = False
        self.frames: list[tuple[float, bytes]] = []
        self.hello = asyncio.get_running_loop().create_future()

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(self.request)

    def connection_lost(self, exc) -> None:
        if not self.hello.done():
            self.hello.set_exception(ConnectionError("closed before hello"))

    def data_received(self, data: bytes) -> None:
        now = time.time()
        buffer = self.buffer + data if self.buffer else data
        if not self.handshaken:
            head, found, buffer = buffer.partition(b"\r\n\r\n")
            if not found:
                self.buffer = head
                return
            if not head.startswith(b"HTTP/1.1 101"):
                self.hello.set_exception(ConnectionError(head.split(b"\r\n")[0].decode()))
                self.transport.close()
                return
            self.handshaken = True
        pos, size = 0, len(buffer)
        while size - pos >= 2:  # server frames: FIN set, not masked, not fragmented here
            length, start = buffer[pos + 1] & 0x7F, pos + 2
            if length == 126:
                length, start = int.from_bytes(buffer[pos + 2 : pos + 4]), pos + 4
            elif length == 127:
                length, start = int.from_bytes(buffer[pos + 2 : pos + 10]), pos + 10
            if start + length > size:
                break
            opcode = buffer[pos] & 0x0F
            if opcode == 1:
                if self.hello.done():
                    self.frames.append((now, buffer[start : start + length]))
                else:  # the first frame is ``hello``: the console has joined its groups
                    self.hello.set_result(None)
            elif opcode == 9:  # Daphne pings every 20 s and drops a peer that does not answer
                self._send(0xA, buffer[start : start + length])
            pos = start + length
        self.buffer = buffer[pos:]

    def _send(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.transport.write(bytes((0x80 | opcode, 0x80 | len(payload))) + mask + masked)

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self._send(0x8, (1000).to_bytes(2))
            self.transport.close()

    def events(self, type_prefix: bytes = b"") -> list[tuple[float, dict]]:
        return [
            (at, json.loads(payload)) for at, payload in self.frames if type_prefix in payload[:120]
        ]


async def connect_consoles(
    hosts: list[tuple[str, int]], tokens: list[str], batch: int = 25
) -> list[Console]:
    """One console per token, spread round robin over the servers, ``batch`` at a time."""
    loop = asyncio.get_running_loop()

    async def one(i: int) -> Console:
        host = hosts[i % len(hosts)]
        for attempt in range(5):  # under load Daphne drops a handshake past its timeout
            try:
                async with asyncio.timeout(30):
                    _, ws = await loop.create_connection(
                        lambda: Console(host, tokens[i]), host[0], host[1]
                    )
                    await ws.hello
                return ws
            except (OSError, TimeoutError, ConnectionError):
                await asyncio.sleep(0.5 * (attempt + 1))
        raise RuntimeError(f"could not connect console {i} to {host}")

    consoles: list[Console] = []
    for start in range(0, len(tokens), batch):
        part = range(start, min(start + batch, len(tokens)))
        consoles += await asyncio.gather(*(one(i) for i in part))
    return consoles


class Subscriber(asyncio.Protocol):
    """A raw Redis SUBSCRIBE: every published payload with its receipt time."""

    def __init__(self, channel: str) -> None:
        self.command = f"*2\r\n$9\r\nSUBSCRIBE\r\n${len(channel)}\r\n{channel}\r\n".encode()
        self.prefix = f"*3\r\n$7\r\nmessage\r\n${len(channel)}\r\n{channel}\r\n$".encode()
        self.transport = None
        self.buffer = b""
        self.subscribed = asyncio.get_running_loop().create_future()
        self.messages: list[tuple[float, bytes]] = []

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(self.command)

    def data_received(self, data: bytes) -> None:
        now = time.time()
        buffer = self.buffer + data if self.buffer else data
        if not self.subscribed.done():
            head, found, buffer = buffer.partition(b":1\r\n")  # the subscription count
            if not found:
                self.buffer = head
                return
            self.subscribed.set_result(None)
        pos, size, skip = 0, len(buffer), len(self.prefix)
        while buffer.startswith(self.prefix, pos):
            eol = buffer.find(b"\r\n", pos + skip)
            if eol < 0:
                break
            start = eol + 2
            end = start + int(buffer[pos + skip : eol])
            if end + 2 > size:
                break
            self.messages.append((now, buffer[start:end]))
            pos = end + 2
        self.buffer = buffer[pos:]


async def subscribe(redis_url: str, channels: list[str]) -> list[Subscriber]:
    """One connection per entry of ``channels``, subscribed to it."""
    loop = asyncio.get_running_loop()
    address = urlsplit(redis_url)
    subscribers: list[Subscriber] = []
    for start in range(0, len(channels), 100):
        batch = await asyncio.gather(
            *(
                loop.create_connection(
                    lambda c=c: Subscriber(c), address.hostname, address.port or 6379
                )
                for c in channels[start : start + 100]
            )
        )
        subscribers += [s for _, s in batch]
    await asyncio.wait_for(asyncio.gather(*(s.subscribed for s in subscribers)), 60)
    return subscribers


# --- client processes ----------------------------------------------------------------------------
# The consoles of a large run are spread over a few processes (each its own event loop): one
# Python process cannot take thousands of sockets' frames at the servers' pace.


class Clients:
    """Processes running ``target(conn, *args)``: each connects, sends ("ready", n), waits for the
    grace period (seconds) and sends back its results once its expected count is in or the grace
    has run out."""

    def __init__(self, target, per_process_args: list[tuple]) -> None:
        ctx = mp.get_context("spawn")  # no inherited sockets or event loops
        self.pipes, self.procs = [], []
        for args in per_process_args:
            ours, theirs = ctx.Pipe()
            proc = ctx.Process(target=target, args=(theirs, *args), daemon=True)
            proc.start()
            self.pipes.append(ours)
            self.procs.append(proc)

    def ready(self, timeout: float) -> int:
        total = 0
        for pipe, proc in zip(self.pipes, self.procs, strict=True):
            if not pipe.poll(timeout):
                raise RuntimeError(f"client process {proc.pid} not ready in {timeout:.0f} s")
            kind, value = pipe.recv()
            if kind == "error":
                raise RuntimeError(f"client process {proc.pid}: {value}")
            total += value
        return total

    def cpu(self) -> float:
        return sum(cpu_seconds(proc.pid) for proc in self.procs)

    def gather(self, grace: float) -> list:
        for pipe in self.pipes:
            pipe.send(grace)
        results = []
        for pipe, proc in zip(self.pipes, self.procs, strict=True):
            if pipe.poll(grace + 60):
                results += pipe.recv()[1]
            proc.join(10)
        return results

    def __enter__(self) -> "Clients":
        return self

    def __exit__(self, *exc) -> None:
        for proc in self.procs:
            if proc.is_alive():
                proc.terminate()
                proc.join(5)


async def until(condition, grace: float) -> None:
    deadline = time.monotonic() + grace
    while not condition() and time.monotonic() < deadline:
        await asyncio.sleep(0.1)


def shares(n: int, procs: int) -> list[range]:
    """Indices per client process: contiguous, sizes differing by at most one."""
    return [range(n * k // procs, n * (k + 1) // procs) for k in range(procs)]


# --- the bench's staff ---------------------------------------------------------------------------

# Run by ``Stack.shell`` (``manage.py shell``, the app's settings): bench users, each with one
# membership and an API token, in the organisations named, created by the ORM in one transaction.
# Prints {"<org code>": {"id": <org id>, "tokens": [[<role>, <key>], ...]}}.
STAFF_CODE = """
import json
from django.contrib.auth import get_user_model
from django.db import transaction
from directory.models import Membership, Organisation, OrganisationKind
from knox.models import AuthToken

SPEC = {spec!r}  # [[org code, kind or None (an existing organisation), [role, ...]], ...]
ALSO = {also!r}  # None, or [org code, kind, role]: every user above is also a member there
User = get_user_model()
out = {{}}
everyone = []
with transaction.atomic():
    region = Organisation.objects.get(code="hotline-centre").region
    for code, kind, roles in SPEC:
        if kind is None:
            org = Organisation.objects.get(code=code)
        else:
            org = Organisation.objects.create(code=code, name=code, kind=kind, region=region)
        users = User.objects.bulk_create(
            [User(username=f"bench-{{code}}-{{i}}", password="!") for i in range(len(roles))]
        )
        Membership.objects.bulk_create(
            [Membership(user=u, organisation=org, role=r) for u, r in zip(users, roles)]
        )
        tokens = [AuthToken.objects.create(user=u)[1] for u in users]
        out[code] = {{"id": org.pk, "tokens": [[r, t] for r, t in zip(roles, tokens)]}}
        everyone += users
    if ALSO:
        code, kind, role = ALSO
        org = Organisation.objects.create(code=code, name=code, kind=kind, region=region)
        Membership.objects.bulk_create(
            [Membership(user=u, organisation=org, role=role) for u in everyone]
        )
        out[code] = {{"id": org.pk, "tokens": []}}
print(json.dumps(out))
"""


def create_staff(stack: Stack, spec: list, also: list | None = None) -> dict:
    """``spec``: [[org code, kind or None, [role, ...]], ...]; see STAFF_CODE."""
    return stack.shell(STAFF_CODE.format(spec=spec, also=also))
