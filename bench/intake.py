"""Intake benchmark: signed Twilio incoming-call webhooks against Daphne on PostgreSQL.

Starts ``manage.py serve`` on 127.0.0.1 (one Daphne process, or ``--processes N`` of them on
their own ports, as the README's deployment runs several behind a proxy; the client spreads its
keep-alive connections over them in place of the proxy) with a bench database of its own
(created, migrated and seeded here). Then, in the same run and against the same server(s), it
alternates rounds of

- ``intake``: webhooks with distinct CallSids, from a mix of new and known numbers, and
- ``bare``: ``GET /healthz``, a bare Django JSON view, the ceiling of the server itself,

and prints requests/s, p50/p99 and the ratio, plus the most PostgreSQL connections the server
held at once (the connection pool bounds them). One asyncio client process, keep-alive
connections, bounded concurrency, signatures computed before the clock starts.

    .venv/bin/python bench/intake.py [--calls 2000] [--concurrency 16] [--processes 1]

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

import aiohttp
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
    subprocess.run(["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {name}"], check=True)
    subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {name}"], check=True)
    py = sys.executable
    subprocess.run([py, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run(
        [py, "manage.py", "seed_demo"], cwd=ROOT, env=env, check=True, capture_output=True
    )


async def wait_up(bases: list[str]) -> None:
    async with aiohttp.ClientSession() as s:
        for base in bases:
            for _ in range(150):
                try:
                    async with s.get(base + "/healthz") as r:
                        if r.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)
            else:
                raise SystemExit(f"server {base} did not start")


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


async def run(sessions, requests: list, concurrency: int) -> Result:
    """``requests``: (method, path, data, headers); ``concurrency`` workers, each on one
    keep-alive connection to one server (round robin), take the next request when done."""
    result = Result()
    pending = iter(requests)

    async def worker(k: int) -> None:
        session, base = sessions[k % len(sessions)]
        for method, path, data, headers in pending:
            t = time.perf_counter()
            async with session.request(method, base + path, data=data, headers=headers) as r:
                await r.read()
                if r.status != 200:
                    result.errors[r.status] = result.errors.get(r.status, 0) + 1
            result.latencies.append(time.perf_counter() - t)

    start = time.perf_counter()
    await asyncio.gather(*(worker(k) for k in range(concurrency)))
    result.elapsed = time.perf_counter() - start
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


async def bench(args, bases: list[str], db_url: str) -> None:
    validator = RequestValidator(TOKEN)
    run_id = uuid.uuid4().hex[:8]

    def webhook(i: int):
        # One in KNOWN_SHARE calls repeats an earlier caller's number: a known person with a case.
        n = i - i % KNOWN_SHARE if i % KNOWN_SHARE == KNOWN_SHARE - 1 else i
        params = {
            "CallSid": f"CA{run_id}{i:024d}",
            "From": f"+86139{int(run_id[:3], 16) * 10000 + n % 10000:08d}",
            "To": "+865722251885",
            "CallStatus": "ringing",
        }
        signature = validator.compute_signature(PUBLIC_BASE + WEBHOOK, params)
        return "POST", WEBHOOK, params, {"X-Twilio-Signature": signature}

    await wait_up(bases)
    sessions = [(aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)), b) for b in bases]
    bare = [("GET", "/healthz", None, {})] * args.calls
    calls = [webhook(i) for i in range(args.calls)]
    warm = [webhook(args.calls + i) for i in range(100)]
    try:
        await run(sessions, bare[:200], args.concurrency)
        await run(sessions, warm, args.concurrency)
        stop = asyncio.Event()
        watcher = asyncio.create_task(watch_connections(db_url, db_url.rsplit("/", 1)[1], stop))
        intake, ceiling = Result(), Result()
        rounds = args.rounds
        size = args.calls // rounds
        for k in range(rounds):
            chunk = calls[k * size : (k + 1) * size]
            intake.add(await run(sessions, chunk, args.concurrency))
            ceiling.add(await run(sessions, bare[:size], args.concurrency))
        stop.set()
        peak = await watcher
    finally:
        for session, _base in sessions:
            await session.close()
    label = f"{len(bases)} Daphne process{'es' if len(bases) > 1 else ''}"
    print(f"[{label}, concurrency {args.concurrency}, {rounds} alternating rounds]")
    calls_rps = report("intake", intake)
    bare_rps = report("bare view", ceiling)
    print(f"ratio intake/bare = {calls_rps / bare_rps:.2f}  (target >= 0.50; target 300 calls/s)")
    print(f"peak PostgreSQL connections to the bench database: {peak}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--processes", type=int, default=1)
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
    }
    env.pop("REDIS_URL", None)
    prepare(env)
    servers = [
        subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        for port in ports
    ]
    try:
        asyncio.run(bench(args, bases, db_url))
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=20)


if __name__ == "__main__":
    main()
