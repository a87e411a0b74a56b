"""Console fan-out: commit-to-receipt latency for N consoles on two Daphne processes.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crisisline REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/fanout.py --clients 1000 --events 60 --interval 0.5

Starts two ``manage.py serve`` processes on a fresh PostgreSQL database (``<db>_fanout``) and
the given Redis. The N console WebSockets (``websockets``) are spread over both servers and over
``--client-procs`` client processes, each running its own event loop with its share of the
sockets: one Python loop cannot read 1,000 sockets fast enough to measure anything but itself.
This process publishes M events with the same settings (``realtime.publish.publish``, so the
broadcast happens after the commit exactly as in a service); each client stamps every receipt
with ``time.time()`` and the latency is receipt minus the commit stamp (same machine, same
clock). In the same run, the floor: N raw Redis pub/sub subscribers (redis-py asyncio) over the
same number of client processes, and M publishes. Loopback only; everything stops by itself.
"""

import argparse
import asyncio
import multiprocessing as mp
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


def raise_fd_limit(needed: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far: load-independent, unlike latency."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def summary(name: str, latencies_ms: list[float], expected: int) -> dict:
    if not latencies_ms:
        print(f"{name:<22} delivered 0/{expected}")
        return {"p50": float("nan"), "p99": float("nan")}
    p50, p99 = percentile(latencies_ms, 50), percentile(latencies_ms, 99)
    print(
        f"{name:<22} delivered {len(latencies_ms)}/{expected}  p50 {p50:7.2f} ms  "
        f"p99 {p99:7.2f} ms  max {max(latencies_ms):7.2f} ms  mean "
        f"{statistics.fmean(latencies_ms):7.2f} ms"
    )
    return {"p50": p50, "p99": p99}


def shares(n: int, procs: int) -> list[range]:
    """Socket indices per client process: contiguous, sizes differing by at most one."""
    return [range(n * k // procs, n * (k + 1) // procs) for k in range(procs)]


# --- client processes ----------------------------------------------------------------------------
# Each runs one event loop: connect its share, report "ready", record receipts until told to stop
# (then a grace period for what is still in flight), and send back (event id, receipt time) pairs.


async def _wait_for_stop(conn) -> float:
    """The grace period the parent sends once it has published everything."""
    return await asyncio.get_running_loop().run_in_executor(None, conn.recv)


async def _console_client(conn, urls: list[str], token: str, indices: range, events: int):
    import websockets

    async def one(i: int):
        url = urls[i % len(urls)]
        # Under load Daphne drops handshakes that take longer than its timeout: try again.
        for attempt in range(5):
            try:
                ws = await websockets.connect(
                    url,
                    additional_headers={"Authorization": f"Token {token}"},
                    max_queue=None,
                    open_timeout=30,
                    ping_interval=None,
                )
                await ws.recv()  # hello: the console has joined its groups
                return ws
            except (OSError, websockets.InvalidHandshake, TimeoutError):
                await asyncio.sleep(0.5 * (attempt + 1))
        raise RuntimeError(f"could not connect a console to {url}")

    sockets = []
    for start in range(0, len(indices), 25):
        sockets += await asyncio.gather(*(one(i) for i in indices[start : start + 25]))
    arrivals: list[tuple[int, float]] = []

    async def consume(ws) -> None:
        got = 0
        async for message in ws:
            now = time.time()
            if '"bench.tick"' not in message:
                continue  # heartbeats and other control frames
            arrivals.append((int(message[6 : message.index(",")]), now))  # {"id":N,...
            got += 1
            if got == events:
                return

    receivers = [asyncio.ensure_future(consume(ws)) for ws in sockets]
    conn.send(("ready", len(sockets)))
    grace = await _wait_for_stop(conn)
    _, pending = await asyncio.wait(receivers, timeout=grace)
    for task in pending:
        task.cancel()
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    conn.send(("arrivals", arrivals))


async def _redis_client(conn, url: str, channel: str, count: int, events: int):
    import redis.asyncio as redis

    clients = [redis.Redis.from_url(url) for _ in range(count)]
    subscribers = [c.pubsub() for c in clients]
    for start in range(0, count, 100):
        await asyncio.gather(*(p.subscribe(channel) for p in subscribers[start : start + 100]))
    for p in subscribers:  # the subscribe confirmations
        await p.get_message(timeout=5)
    latencies: list[float] = []

    async def listen(p):
        got = 0
        while got < events:
            message = await p.get_message(ignore_subscribe_messages=True, timeout=None)
            if message is None:
                continue
            latencies.append((time.time() - float(message["data"])) * 1000)
            got += 1

    listeners = [asyncio.ensure_future(listen(p)) for p in subscribers]
    conn.send(("ready", count))
    grace = await _wait_for_stop(conn)
    _, pending = await asyncio.wait(listeners, timeout=grace)
    for task in pending:
        task.cancel()
    for p in subscribers:
        await p.aclose()
    await asyncio.gather(*(c.aclose() for c in clients))
    conn.send(("latencies", latencies))


def console_worker(conn, fd_limit: int, *args) -> None:
    raise_fd_limit(fd_limit)
    asyncio.run(_console_client(conn, *args))


def redis_worker(conn, fd_limit: int, *args) -> None:
    raise_fd_limit(fd_limit)
    asyncio.run(_redis_client(conn, *args))


class Clients:
    """``procs`` client processes started with ``target``; ``gather`` their results."""

    def __init__(self, target, per_process_args: list[tuple], fd_limit: int):
        ctx = mp.get_context("spawn")  # no inherited Django state, sockets or event loops
        self.pipes, self.procs = [], []
        for args in per_process_args:
            ours, theirs = ctx.Pipe()
            proc = ctx.Process(target=target, args=(theirs, fd_limit, *args), daemon=True)
            proc.start()
            self.pipes.append(ours)
            self.procs.append(proc)

    def ready(self, timeout: float) -> int:
        total = 0
        for pipe, proc in zip(self.pipes, self.procs, strict=True):
            if not pipe.poll(timeout):
                raise RuntimeError(f"client process {proc.pid} did not get ready in {timeout}s")
            total += pipe.recv()[1]
        return total

    def gather(self, grace: float) -> list:
        for pipe in self.pipes:
            pipe.send(grace)
        results = []
        for pipe, proc in zip(self.pipes, self.procs, strict=True):
            if pipe.poll(grace + 60):
                results += pipe.recv()[1]
            proc.join(10)
            if proc.is_alive():
                proc.terminate()
        return results

    def terminate(self) -> None:
        for proc in self.procs:
            if proc.is_alive():
                proc.terminate()


# --- the runs ------------------------------------------------------------------------------------


def console_run(
    args, urls: list[str], token: str, org_id: int, fd_limit: int, servers: list[int]
) -> list[float]:
    from channels.db import database_sync_to_async
    from django.db import transaction

    from realtime import audiences as aud
    from realtime.publish import publish

    clients = Clients(
        console_worker,
        [(urls, token, part, args.events) for part in shares(args.clients, args.client_procs)],
        fd_limit,
    )
    try:
        connected = clients.ready(timeout=600)
        print(
            f"{connected} consoles connected over {len(urls)} Daphne processes "
            f"from {args.client_procs} client processes; load average {load_average()}"
        )
        committed: dict[int, float] = {}

        def publish_one(n: int) -> None:
            holder = {}
            with transaction.atomic():
                # Registered before publish() registers its broadcast, so it runs first: the commit.
                transaction.on_commit(lambda: committed.__setitem__(holder["id"], time.time()))
                holder["id"] = publish("bench.tick", data={"n": n}, audiences=[aud.org(org_id)]).id

        async def publish_all() -> None:
            # From a thread under an event loop, as a view under Daphne: the broadcast reuses the
            # loop's Redis connection (from a bare thread it would open one per event).
            for n in range(args.events):
                await database_sync_to_async(publish_one)(n)
                await asyncio.sleep(args.interval)

        before = [cpu_seconds(pid) for pid in servers]
        asyncio.run(publish_all())
        arrivals = clients.gather(args.timeout)
        used = [
            (cpu_seconds(pid) - b) * 1000 / args.events
            for pid, b in zip(servers, before, strict=True)
        ]
        print(
            "Daphne CPU per event: "
            + ", ".join(f"{ms:.1f} ms" for ms in used)
            + f" (per process; {sum(used) * 1000 / args.clients:.1f} us per console frame)"
        )
    finally:
        clients.terminate()
    return [(t - committed[i]) * 1000 for i, t in arrivals if i in committed]


def redis_floor(args, fd_limit: int) -> list[float]:
    import redis

    url = os.environ["REDIS_URL"]
    channel = f"bench-fanout-floor-{os.getpid()}"
    clients = Clients(
        redis_worker,
        [
            (url, channel, len(part), args.events)
            for part in shares(args.clients, args.client_procs)
        ],
        fd_limit,
    )
    try:
        clients.ready(timeout=300)
        publisher = redis.Redis.from_url(url)
        for _ in range(args.events):
            publisher.publish(channel, repr(time.time()))
            time.sleep(args.interval)
        publisher.close()
        return clients.gather(args.timeout)
    finally:
        clients.terminate()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--events", type=int, default=60)
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between events")
    parser.add_argument(
        "--client-procs", type=int, default=2, help="processes the clients are spread over"
    )
    parser.add_argument("--timeout", type=float, default=30, help="grace after the last event")
    parser.add_argument("--no-floor", action="store_true", help="skip the raw Redis floor")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        sys.exit("Set DATABASE_URL to PostgreSQL: two Daphne processes share one database.")
    if not os.environ.get("REDIS_URL"):
        sys.exit("Set REDIS_URL: the two Daphne processes share the Redis channel layer.")
    fd_limit = raise_fd_limit(3 * args.clients + 256)
    print(f"open files limit: {fd_limit}; load average {load_average()}")

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
    print("Daphne pids: " + " ".join(str(p.process.pid) for p in procs))
    try:
        os.environ["DATABASE_URL"] = env["DATABASE_URL"]
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        import django

        django.setup()
        from directory.models import Organisation

        org_id = Organisation.objects.get(code="hotline-centre").pk
        token = Api(procs[0].url, "operator1", servers.DEMO_PASSWORD).token
        urls = [p.url.replace("http://", "ws://") + "/ws/console/" for p in procs]
        pids = [p.process.pid for p in procs]
        consoles = console_run(args, urls, token, org_id, fd_limit, pids)
        load_consoles = load_average()
        floor = [] if args.no_floor else redis_floor(args, fd_limit)
    finally:
        for p in procs:
            p.stop()
    expected = args.clients * args.events
    every = f"{args.interval * 1000:.0f} ms"
    print(
        f"\n{args.clients} consoles over 2 Daphne processes and {args.client_procs} client "
        f"processes, {args.events} events, one every {every}; "
        f"load average after the console run {load_consoles}, now {load_average()}"
    )
    c = summary("consoles (commit->ws)", consoles, expected)
    if floor:
        f = summary("raw Redis pub/sub", floor, expected)
        print(f"ratio p50 {c['p50'] / f['p50']:.1f}x  p99 {c['p99'] / f['p99']:.1f}x")
    print(f"target p99 < 100 ms: {'met' if c['p99'] < 100 else 'NOT met'}")


if __name__ == "__main__":
    main()
