"""Intake benchmark: signed Twilio incoming-call webhooks against Daphne on PostgreSQL.

Starts ``manage.py serve`` on 127.0.0.1 (one Daphne process, or ``--processes N`` of them on
their own ports, as the README's deployment runs several behind a proxy; the client spreads its
keep-alive connections over them in place of the proxy) with a bench database of its own
(created, migrated and seeded here). Then, in the same run and against the same server(s), it
alternates rounds of

- ``intake``: webhooks with distinct CallSids, from a mix of new and known numbers, and
- ``bare``: ``GET /healthz``, a bare Django JSON view, the ceiling of the server itself,

and prints requests/s, p50/p99 and the ratio, the CPU time each request cost the Daphne processes
and PostgreSQL's backends (load-independent, unlike the rates on a shared machine), and the
most PostgreSQL connections the servers held at once (the pool bounds them).

The client is one asyncio process writing requests encoded before the clock starts (signatures
included) on keep-alive connections and reading the answers by their Content-Length: it shares
the machine's cores with the servers, so it is kept as cheap as a Python client can be.

    .venv/bin/python bench/intake.py [--calls 4000] [--concurrency 16] [--processes 2]

The servers run as production does (``serve`` with ``ESCALATION_WORKER_IN_PROCESS=0`` and one
``escalation_worker`` beside them), each its own Daphne process on its own port, the client
standing in for the proxy in front of them.

Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/wt_hotline_bench);
DATABASE_POOL_MAX_SIZE etc. pass through to the server. Stops by itself; loopback only.
"""

import argparse
import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

import psycopg
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-auth-token-0123456789abcdef"
PUBLIC_BASE = "https://hotline.example"  # the proxy's public URL, which Twilio signs
WEBHOOK = "/twilio/voice/incoming/"
KNOWN_SHARE = 4  # every 4th call comes from a number that has called before


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(env: dict) -> None:
    url = env["DATABASE_URL"]
    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    subprocess.run(
        ["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=True
    )
    subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {name}"], check=True)
    py = sys.executable
    subprocess.run([py, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run(
        [py, "manage.py", "seed_demo"], cwd=ROOT, env=env, check=True, capture_output=True
    )


async def wait_up(bases: list[str]) -> None:
    for base in bases:
        host, port = base.removeprefix("http://").split(":")
        for _ in range(150):
            try:
                reader, writer = await asyncio.open_connection(host, int(port))
            except OSError:
                await asyncio.sleep(0.2)
                continue
            writer.write(request("GET", "/healthz", host, port))
            status, _body = await read_response(reader)
            writer.close()
            if status == 200:
                break
            await asyncio.sleep(0.2)
        else:
            raise SystemExit(f"server {base} did not start")


def request(method: str, path: str, host: str, port, body: bytes = b"", headers=()) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", *headers]
    if method == "POST":
        lines += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def read_response(reader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, await reader.readexactly(length) if length else b""


class Result:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.elapsed = 0.0
        self.errors: dict[int, int] = {}

    def add(self, other: "Result") -> None:
        self.latencies += other.latencies
        self.elapsed += other.elapsed
        for status, n in other.errors.items():
            self.errors[status] = self.errors.get(status, 0) + n


async def run(bases: list[str], requests: list, concurrency: int) -> Result:
    """``requests``: encoded per server (``requests[i][k]`` for server ``k``); ``concurrency``
    workers, each on one keep-alive connection to one server (round robin), take the next
    request when their answer is in."""
    result = Result()
    pending = iter(requests)
    connections = []
    for k in range(concurrency):
        host, port = bases[k % len(bases)].removeprefix("http://").split(":")
        connections.append((k % len(bases), *await asyncio.open_connection(host, int(port))))

    async def worker(k: int) -> None:
        server, reader, writer = connections[k]
        for encoded in pending:
            t = time.perf_counter()
            writer.write(encoded[server])
            status, _body = await read_response(reader)
            if status != 200:
                result.errors[status] = result.errors.get(status, 0) + 1
            result.latencies.append(time.perf_counter() - t)

    start = time.perf_counter()
    await asyncio.gather(*(worker(k) for k in range(concurrency)))
    result.elapsed = time.perf_counter() - start
    for _server, _reader, writer in connections:
        writer.close()
    return result


def report(label: str, r: Result) -> float:
    lat = sorted(r.latencies)
    n = len(lat)
    rps = n / r.elapsed
    p50 = statistics.median(lat) * 1000
    p99 = lat[max(int(n * 0.99) - 1, 0)] * 1000
    print(
        f"{label:10s} {n} requests  {rps:8.1f} req/s  "
        f"p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  errors {r.errors or 0}"
    )
    return rps


async def watch_connections(url: str, name: str, stop: asyncio.Event) -> int:
    """The most connections to the bench database seen at once (polled; excludes this one)."""
    peak = 0
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        while not stop.is_set():
            cur = await conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> "
                "pg_backend_pid()",
                (name,),
            )
            peak = max(peak, (await cur.fetchone())[0])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.25)
    return peak


def cpu_ticks(pids) -> int:
    """User + system clock ticks of these processes so far (0 for one that has gone)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total


def backends(url: str, name: str) -> list[int]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        ).fetchall()
    return [pid for (pid,) in rows]


class Cpu:
    """CPU milliseconds per request of the servers and of the database's backends."""

    TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")

    def __init__(self, servers: list[int], url: str) -> None:
        self.servers, self.url, self.name = servers, url, url.rsplit("/", 1)[1]
        self.server_ms = self.database_ms = 0.0

    def __enter__(self):
        # The pool's connections are open by now (warm-up); new ones are counted from their start.
        self.pg = backends(self.url, self.name)
        self.start = (cpu_ticks(self.servers), cpu_ticks(self.pg))
        return self

    def __exit__(self, *exc) -> None:
        self.server_ms += (cpu_ticks(self.servers) - self.start[0]) * self.TICK_MS
        pg = set(self.pg) | set(backends(self.url, self.name))
        self.database_ms += (cpu_ticks(pg) - self.start[1]) * self.TICK_MS


async def bench(args, bases: list[str], db_url: str, server_pids: list[int]) -> None:
    validator = RequestValidator(TOKEN)
    run_id = uuid.uuid4().hex[:8]
    hosts = [base.removeprefix("http://").split(":") for base in bases]

    def webhook(i: int) -> list[bytes]:
        # One in KNOWN_SHARE calls repeats an earlier caller's number: a known person with a case.
        n = i - i % KNOWN_SHARE if i % KNOWN_SHARE == KNOWN_SHARE - 1 else i
        params = {
            "CallSid": f"CA{run_id}{i:024d}",
            "From": f"+86139{int(run_id[:3], 16) * 10000 + n % 10000:08d}",
            "To": "+865722251885",
            "CallStatus": "ringing",
        }
        signature = validator.compute_signature(PUBLIC_BASE + WEBHOOK, params)
        body = urlencode(params).encode()
        header = f"X-Twilio-Signature: {signature}"
        return [request("POST", WEBHOOK, h, p, body, [header]) for h, p in hosts]

    await wait_up(bases)
    bare = [[request("GET", "/healthz", h, p) for h, p in hosts]] * args.calls
    calls = [webhook(i) for i in range(args.calls)]
    warm = [webhook(args.calls + i) for i in range(200)]
    await run(bases, bare[:400], args.concurrency)
    await run(bases, warm, args.concurrency)
    stop = asyncio.Event()
    watcher = asyncio.create_task(watch_connections(db_url, db_url.rsplit("/", 1)[1], stop))
    intake, ceiling = Result(), Result()
    intake_cpu, bare_cpu = Cpu(server_pids, db_url), Cpu(server_pids, db_url)
    rounds = args.rounds
    size = args.calls // rounds
    for k in range(rounds):
        with intake_cpu:
            intake.add(await run(bases, calls[k * size : (k + 1) * size], args.concurrency))
        with bare_cpu:
            ceiling.add(await run(bases, bare[:size], args.concurrency))
    stop.set()
    peak = await watcher
    label = f"{len(bases)} Daphne process{'es' if len(bases) > 1 else ''}"
    layer = "Redis channel layer" if os.environ.get("REDIS_URL") else "in-memory channel layer"
    print(f"[{label}, {layer}, concurrency {args.concurrency}, {rounds} alternating rounds]")
    calls_rps = report("intake", intake)
    bare_rps = report("bare view", ceiling)
    print(f"ratio intake/bare = {calls_rps / bare_rps:.2f}  (target >= 0.50; target 300 calls/s)")
    for label, cpu, n in (
        ("intake", intake_cpu, len(intake.latencies)),
        ("bare view", bare_cpu, len(ceiling.latencies)),
    ):
        print(
            f"CPU per request, {label:9s}: Daphne {cpu.server_ms / n:5.2f} ms, "
            f"PostgreSQL {cpu.database_ms / n:5.2f} ms"
        )
    print(f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores")
    print(f"peak PostgreSQL connections to the bench database: {peak}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    ports = [free_port() for _ in range(args.processes)]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    db_url = os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/wt_hotline_bench"
    )
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_WEBHOOK_BASE_URL": PUBLIC_BASE,
        "CONN_MAX_AGE": "0",
        "LOG_LEVEL": "WARNING",
        "HOTLINE_SURGE_QUEUE_LENGTH": str(10**6),
        "ESCALATION_WORKER_IN_PROCESS": "0",
    }
    prepare(env)
    py = sys.executable
    processes = [
        subprocess.Popen(
            [py, "manage.py", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        for port in ports
    ]
    worker = subprocess.Popen(
        [py, "manage.py", "escalation_worker"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL
    )
    try:
        loop_factory = None
        with contextlib.suppress(ImportError):
            import uvloop  # the client takes less of the cores the servers need

            loop_factory = uvloop.new_event_loop
        asyncio.run(
            bench(args, bases, db_url, [p.pid for p in processes]), loop_factory=loop_factory
        )
    finally:
        for process in [*processes, worker]:
            process.terminate()
        for process in [*processes, worker]:
            process.wait(timeout=20)


if __name__ == "__main__":
    main()
