"""Console fan-out: commit-to-receipt latency for N consoles on two Daphne processes.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crisisline REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/fanout.py --clients 1000 --events 200

Starts two ``manage.py serve`` processes on a fresh PostgreSQL database (``<db>_fanout``) and
the given Redis, connects N console WebSockets (``websockets``) spread over both, publishes M
events from this process with the same settings (``realtime.publish.publish``, so the broadcast
happens after the commit exactly as in a service), and measures from the commit to each client's
receipt. In the same run, the floor: N raw Redis pub/sub subscribers (redis-py asyncio) and M
publishes. Loopback only; everything stops by itself.
"""

import argparse
import asyncio
import os
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    print(f"open files limit: {resource.getrlimit(resource.RLIMIT_NOFILE)[0]}")


def summary(name: str, latencies_ms: list[float], expected: int) -> dict:
    p50, p99 = percentile(latencies_ms, 50), percentile(latencies_ms, 99)
    print(
        f"{name:<22} delivered {len(latencies_ms)}/{expected}  p50 {p50:7.2f} ms  "
        f"p99 {p99:7.2f} ms  max {max(latencies_ms):7.2f} ms  mean "
        f"{statistics.fmean(latencies_ms):7.2f} ms"
    )
    return {"p50": p50, "p99": p99}


async def connect_consoles(urls: list[str], token: str, n: int, batch: int = 25):
    import websockets

    async def one(url: str):
        # Under load Daphne drops handshakes that take longer than its timeout: try again.
        for attempt in range(5):
            try:
                ws = await websockets.connect(
                    url,
                    additional_headers={"Authorization": f"Token {token}"},
                    max_queue=None,
                    open_timeout=30,
                )
                await ws.recv()  # hello: the console has joined its groups
                return ws
            except (OSError, websockets.InvalidHandshake):
                await asyncio.sleep(0.5 * (attempt + 1))
        raise RuntimeError(f"could not connect a console to {url}")

    sockets = []
    for start in range(0, n, batch):
        sockets += await asyncio.gather(
            *(one(urls[i % len(urls)]) for i in range(start, min(n, start + batch)))
        )
    return sockets


async def consume(ws, arrivals: dict[int, list[float]], expected: int) -> None:
    got = 0
    async for message in ws:
        now = time.monotonic()
        if '"bench.tick"' not in message:
            continue  # heartbeats and other control frames
        event_id = int(message[6 : message.index(",")])  # frames start with {"id":N,
        arrivals.setdefault(event_id, []).append(now)
        got += 1
        if got == expected:
            return


async def console_run(args, urls: list[str], token: str, org_id: int) -> list[float]:
    from channels.db import database_sync_to_async
    from django.db import transaction

    from realtime import audiences as aud
    from realtime.publish import publish

    sockets = await connect_consoles(urls, token, args.clients)
    print(f"{len(sockets)} consoles connected over {len(urls)} Daphne processes")
    arrivals: dict[int, list[float]] = {}
    committed: dict[int, float] = {}

    def publish_one(n: int) -> None:
        holder = {}
        with transaction.atomic():
            # Registered before publish() registers its broadcast, so it runs first: the commit.
            transaction.on_commit(lambda: committed.__setitem__(holder["id"], time.monotonic()))
            holder["id"] = publish("bench.tick", data={"n": n}, audiences=[aud.org(org_id)]).id

    receivers = [asyncio.ensure_future(consume(ws, arrivals, args.events)) for ws in sockets]
    for n in range(args.events):
        await database_sync_to_async(publish_one)(n)
        await asyncio.sleep(args.interval)
    _, pending = await asyncio.wait(receivers, timeout=args.timeout)
    for task in pending:
        task.cancel()
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    return [
        (t - committed[event_id]) * 1000
        for event_id, times in arrivals.items()
        if event_id in committed
        for t in times
    ]


async def redis_floor(args) -> list[float]:
    import redis.asyncio as redis

    channel = f"bench-fanout-floor-{os.getpid()}"
    url = os.environ["REDIS_URL"]
    clients = [redis.Redis.from_url(url) for _ in range(args.clients)]
    subscribers = [c.pubsub() for c in clients]
    for start in range(0, len(subscribers), 100):
        await asyncio.gather(*(p.subscribe(channel) for p in subscribers[start : start + 100]))
    for p in subscribers:  # the subscribe confirmations
        await p.get_message(timeout=5)
    latencies: list[float] = []

    async def listen(p):
        got = 0
        while got < args.events:
            message = await p.get_message(ignore_subscribe_messages=True, timeout=args.timeout)
            if message is None:
                return
            latencies.append((time.monotonic() - float(message["data"])) * 1000)
            got += 1

    listeners = [asyncio.ensure_future(listen(p)) for p in subscribers]
    publisher = redis.Redis.from_url(url)
    for _ in range(args.events):
        await publisher.publish(channel, repr(time.monotonic()))
        await asyncio.sleep(args.interval)
    await asyncio.wait(listeners, timeout=args.timeout)
    for p in subscribers:
        await p.aclose()
    await asyncio.gather(*(c.aclose() for c in clients), publisher.aclose())
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between events")
    parser.add_argument("--timeout", type=float, default=30)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        sys.exit("Set DATABASE_URL to PostgreSQL: two Daphne processes share one database.")
    if not os.environ.get("REDIS_URL"):
        sys.exit("Set REDIS_URL: the two Daphne processes share the Redis channel layer.")
    raise_fd_limit(3 * args.clients + 256)

    import tempfile

    from tests.e2e import servers
    from tests.realtime.http import Api

    tmp = Path(tempfile.mkdtemp(prefix="fanout-"))
    env = servers.server_env(
        servers.fresh_database_url(tmp, "fanout"),
        tmp / "static",
        REALTIME_HEARTBEAT_SECONDS="300",
        LOG_LEVEL="WARNING",
    )
    print("preparing a fresh database (migrate, seed_demo) ...")
    servers.prepare(env)
    procs = [servers.Server(env, tmp / f"daphne-{i}.log") for i in range(2)]
    try:
        os.environ["DATABASE_URL"] = env["DATABASE_URL"]
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        import django

        django.setup()
        from directory.models import Organisation

        org_id = Organisation.objects.get(code="hotline-centre").pk
        token = Api(procs[0].url, "operator1", servers.DEMO_PASSWORD).token
        urls = [p.url.replace("http://", "ws://") + "/ws/console/" for p in procs]
        consoles = asyncio.run(console_run(args, urls, token, org_id))
        floor = asyncio.run(redis_floor(args))
    finally:
        for p in procs:
            p.stop()
    expected = args.clients * args.events
    every = f"{args.interval * 1000:.0f} ms"
    print(f"\n{args.clients} consoles, {args.events} events, one every {every}")
    c = summary("consoles (commit->ws)", consoles, expected)
    f = summary("raw Redis pub/sub", floor, expected)
    print(f"ratio p50 {c['p50'] / f['p50']:.1f}x  p99 {c['p99'] / f['p99']:.1f}x")
    print(f"target p99 < 100 ms: {'met' if c['p99'] < 100 else 'NOT met'}")


if __name__ == "__main__":
    main()
