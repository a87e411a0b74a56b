"""Intake benchmark: signed Twilio incoming-call webhooks against Daphne on PostgreSQL.

Starts ``manage.py serve`` on 127.0.0.1 with a bench database of its own (created, migrated and
seeded here), sends N webhooks with distinct CallSids at bounded concurrency, then the same number
of requests to ``/healthz`` (a bare Django JSON view on the same server) as the ceiling.

    .venv/bin/python bench/intake.py [--calls 2000] [--concurrency 32]

Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/wt_hotline_bench).
Stops by itself; loopback only.
"""

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import aiohttp
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-auth-token-0123456789abcdef"


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


async def wait_up(base: str) -> None:
    async with aiohttp.ClientSession() as s:
        for _ in range(100):
            try:
                async with s.get(base + "/healthz") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit("server did not start")


async def run(base: str, n: int, concurrency: int, make) -> tuple[float, list[float], int]:
    sem = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    errors = 0

    async def one(session, i):
        nonlocal errors
        method, path, data, headers = make(i)
        async with sem:
            t = time.perf_counter()
            async with session.request(method, base + path, data=data, headers=headers) as r:
                await r.read()
                if r.status != 200:
                    errors += 1
            latencies.append(time.perf_counter() - t)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        start = time.perf_counter()
        await asyncio.gather(*(one(session, i) for i in range(n)))
        elapsed = time.perf_counter() - start
    return elapsed, latencies, errors


def report(label: str, n: int, elapsed: float, lat: list[float], errors: int) -> float:
    lat = sorted(lat)
    rps = n / elapsed
    p50 = statistics.median(lat) * 1000
    p99 = lat[int(len(lat) * 0.99) - 1] * 1000
    print(
        f"{label:10s} {n} requests  {rps:8.1f} req/s  "
        f"p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  errors {errors}"
    )
    return rps


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/wt_hotline_bench"
        ),
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_WEBHOOK_BASE_URL": base,
        # Django under ASGI runs each request in its own thread: persistent connections would
        # pile up one per thread, so the bench uses a connection per request like the default.
        "CONN_MAX_AGE": "0",
        "LOG_LEVEL": "WARNING",
        "HOTLINE_SURGE_QUEUE_LENGTH": str(10**6),
    }
    env.pop("REDIS_URL", None)
    prepare(env)
    server = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    validator = RequestValidator(TOKEN)
    run_id = uuid.uuid4().hex[:8]

    def webhook(i):
        params = {
            "CallSid": f"CA{run_id}{i:024d}",
            "From": f"+86139{i % 100000000:08d}",
            "To": "+865722251885",
            "CallStatus": "ringing",
        }
        sig = validator.compute_signature(base + "/twilio/voice/incoming/", params)
        return "POST", "/twilio/voice/incoming/", params, {"X-Twilio-Signature": sig}

    def bare(i):
        return "GET", "/healthz", None, {}

    try:
        asyncio.run(wait_up(base))
        asyncio.run(run(base, 50, args.concurrency, bare))  # warm up
        calls = report(
            "intake", args.calls, *asyncio.run(run(base, args.calls, args.concurrency, webhook))
        )
        ceiling = report(
            "bare view", args.calls, *asyncio.run(run(base, args.calls, args.concurrency, bare))
        )
        print(f"ratio intake/bare = {calls / ceiling:.2f}  (target >= 0.50; target 300 calls/s)")
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    main()
