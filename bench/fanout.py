"""Console fan-out: commit-to-receipt latency for N consoles on two Daphne processes.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crisisline REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/fanout.py --clients 1000 --events 60 --interval 0.5 --client-procs 2

Starts two ``manage.py serve`` processes on a fresh PostgreSQL database (``<db>_fanout``) and
the given Redis. The N console WebSockets are spread over both servers and over
``--client-procs`` client processes, each running its own event loop (uvloop when installed)
with its share of the sockets. The clients are bare asyncio protocols that stamp each chunk with
``time.time()`` as it arrives and decode after the run: they share the two cores with the
servers, so they must cost as little as possible. This process publishes one warm-up event, then
M events with the same settings (``realtime.publish.publish``, so the broadcast happens after the
commit exactly as in a service); the latency is receipt minus the commit stamp (same machine,
same clock). In the same run, the floor: N raw Redis pub/sub subscribers, the same kind of bare
protocol over the same number of client processes, and M publishes. It prints the load average
and the CPU time per event of the servers (their idle rate taken off) and of the clients: on a
shared machine latency mostly measures the neighbours, CPU time does not. Loopback only;
everything stops by itself. ``REALTIME_DIRECT_WRITE=0 REALTIME_UVLOOP=0`` in the environment
runs the servers the old way, for comparison.
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


def cpu_seconds(pid: int, part: slice = slice(11, 13)) -> float:
    """User + system CPU time of a process so far: load-independent, unlike latency."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return sum(int(f) for f in fields[part]) / os.sysconf("SC_CLK_TCK")


SYSTEM = slice(12, 13)  # the kernel's share: on loopback a send also does the receiver's TCP work


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


# Both kinds of client are bare asyncio protocols that stamp each chunk as it arrives and keep the
# payloads; decoding waits until the run is over. A client library (websockets, redis-py) costs
# several times the server's work per frame, on the same two cores.


class _WebSocket(asyncio.Protocol):
    """A console: the handshake, then every text frame's payload with its receipt time."""

    def __init__(self, request: bytes):
        self.request = request
        self.transport = None
        self.buffer = b""
        self.handshaken = False
        self.frames: list[tuple[float, bytes]] = []
        self.hello = asyncio.get_running_loop().create_future()

    def connection_made(self, transport):
        self.transport = transport
        transport.write(self.request)

    def connection_lost(self, exc):
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
        while size - pos >= 2:  # server frames: FIN set, not masked, never fragmented here
            length, start = buffer[pos + 1] & 0x7F, pos + 2
            if length == 126:
                length, start = int.from_bytes(buffer[pos + 2 : pos + 4]), pos + 4
            elif length == 127:
                length, start = int.from_bytes(buffer[pos + 2 : pos + 10]), pos + 10
            if start + length > size:
                break
            opcode = buffer[pos] & 0x0F
            if opcode == 1:
                self.frames.append((now, buffer[start : start + length]))
                if not self.hello.done():
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


class _Subscriber(asyncio.Protocol):
    """A raw Redis SUBSCRIBE: every published payload with its receipt time."""

    def __init__(self, channel: str):
        self.command = f"*2\r\n$9\r\nSUBSCRIBE\r\n${len(channel)}\r\n{channel}\r\n".encode()
        self.prefix = f"*3\r\n$7\r\nmessage\r\n${len(channel)}\r\n{channel}\r\n$".encode()
        self.transport = None
        self.buffer = b""
        self.subscribed = asyncio.get_running_loop().create_future()
        self.messages: list[tuple[float, bytes]] = []

    def connection_made(self, transport):
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


def _use_uvloop() -> None:
    # The same loop for both kinds of client, uvloop when installed: less of the two cores.
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


async def _console_client(conn, urls: list[str], token: str, indices: range, events: int):
    import base64
    from urllib.parse import urlsplit

    loop = asyncio.get_running_loop()

    async def one(i: int) -> _WebSocket:
        url = urlsplit(urls[i % len(urls)])
        request = (
            f"GET {url.path} HTTP/1.1\r\nHost: {url.netloc}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}"
            f"\r\nSec-WebSocket-Version: 13\r\nAuthorization: Token {token}\r\n\r\n"
        ).encode()
        # Under load Daphne drops handshakes that take longer than its timeout: try again.
        for attempt in range(5):
            try:
                async with asyncio.timeout(30):
                    _, ws = await loop.create_connection(
                        lambda: _WebSocket(request), url.hostname, url.port
                    )
                    await ws.hello  # the console has joined its groups
                return ws
            except (OSError, TimeoutError):
                await asyncio.sleep(0.5 * (attempt + 1))
        raise RuntimeError(f"could not connect a console to {url.geturl()}")

    sockets = []
    for start in range(0, len(indices), 25):
        sockets += await asyncio.gather(*(one(i) for i in indices[start : start + 25]))

    def ticks() -> int:
        return sum(b'"bench.tick"' in payload for ws in sockets for _, payload in ws.frames)

    conn.send(("ready", len(sockets)))
    grace = await _wait_for_stop(conn)
    deadline = time.monotonic() + grace
    while ticks() < events * len(sockets) and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    for ws in sockets:
        ws.close()
    arrivals = [
        (int(payload[6 : payload.index(b",")]), at)  # {"id":N,...
        for ws in sockets
        for at, payload in ws.frames
        if b'"bench.tick"' in payload
    ]
    conn.send(("arrivals", arrivals))


async def _redis_client(conn, url: str, channel: str, count: int, events: int):
    from urllib.parse import urlsplit

    loop = asyncio.get_running_loop()
    address = urlsplit(url)
    subscribers = []
    for start in range(0, count, 100):
        batch = await asyncio.gather(
            *(
                loop.create_connection(
                    lambda: _Subscriber(channel), address.hostname, address.port or 6379
                )
                for _ in range(min(100, count - start))
            )
        )
        subscribers += [s for _, s in batch]
    await asyncio.wait_for(asyncio.gather(*(s.subscribed for s in subscribers)), 30)

    def received() -> int:
        return sum(len(s.messages) for s in subscribers)

    conn.send(("ready", count))
    grace = await _wait_for_stop(conn)
    deadline = time.monotonic() + grace
    while received() < events * count and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    for s in subscribers:
        s.transport.close()
    latencies = [(at - float(sent)) * 1000 for s in subscribers for at, sent in s.messages]
    conn.send(("latencies", latencies))


def console_worker(conn, fd_limit: int, *args) -> None:
    raise_fd_limit(fd_limit)
    _use_uvloop()
    asyncio.run(_console_client(conn, *args))


def redis_worker(conn, fd_limit: int, *args) -> None:
    raise_fd_limit(fd_limit)
    _use_uvloop()
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

        def publish_one(type_: str, n: int) -> int:
            holder = {}
            with transaction.atomic():
                # Registered before publish() registers its broadcast, so it runs first: the commit.
                transaction.on_commit(lambda: committed.__setitem__(holder["id"], time.time()))
                holder["id"] = publish(type_, data={"n": n}, audiences=[aud.org(org_id)]).id
            return holder["id"]

        cpu: dict[str, list[float]] = {}

        async def publish_all() -> None:
            # From a thread under an event loop, as a view under Daphne: the broadcast reuses the
            # loop's Redis connection (from a bare thread it would open one per event). One event
            # first, not counted (the clients skip it): the first broadcast opens that connection.
            warmup = await database_sync_to_async(publish_one)("bench.warmup", -1)
            await asyncio.sleep(1)
            committed.pop(warmup)
            # What the servers burn with nothing to send (Daphne's timers), over as long as one
            # event's interval: taken off before the per-frame figure.
            cpu["idle"] = [cpu_seconds(pid) for pid in servers]
            await asyncio.sleep(args.idle)
            cpu["before"] = [cpu_seconds(pid) for pid in servers]
            cpu["system"] = [cpu_seconds(pid, SYSTEM) for pid in servers]
            cpu["clients"] = [clients.cpu()]
            for n in range(args.events):
                await database_sync_to_async(publish_one)("bench.tick", n)
                await asyncio.sleep(args.interval)
            cpu["clients"].append(clients.cpu())

        asyncio.run(publish_all())
        idle = [
            (b - a) * 1000 * args.interval / args.idle
            for a, b in zip(cpu["idle"], cpu["before"], strict=True)
        ]
        client_ms = (cpu["clients"][1] - cpu["clients"][0]) * 1000 / args.events
        arrivals = clients.gather(args.timeout)
        used = [
            (cpu_seconds(pid) - b) * 1000 / args.events
            for pid, b in zip(servers, cpu["before"], strict=True)
        ]
        system = [
            (cpu_seconds(pid, SYSTEM) - b) * 1000 / args.events
            for pid, b in zip(servers, cpu["system"], strict=True)
        ]
        frame_us = (sum(used) - sum(idle)) * 1000 / args.clients
        print(
            "Daphne CPU per event: "
            + ", ".join(f"{ms:.1f} ms" for ms in used)
            + " per process (in the kernel: "
            + ", ".join(f"{ms:.1f} ms" for ms in system)
            + "; idle over the same time: "
            + ", ".join(f"{ms:.1f} ms" for ms in idle)
            + f"); {frame_us:.1f} us per console frame, idle taken off; "
            f"the console clients: {client_ms:.1f} ms per event"
        )
    finally:
        clients.terminate()
    by_event: dict[int, list[float]] = {}
    for i, t in arrivals:
        if i in committed:
            by_event.setdefault(i, []).append((t - committed[i]) * 1000)
    # A tail made of a few events points at a pause (a timer, a GC, a neighbour), not the fan-out.
    start = min(committed.values(), default=0)
    worst = sorted(by_event, key=lambda i: -max(by_event[i]))[:3]
    print(
        "slowest events: "
        + ", ".join(
            f"at +{committed[i] - start:.1f} s: max {max(by_event[i]):.0f} ms, "
            f"p50 {percentile(by_event[i], 50):.0f} ms"
            for i in worst
        )
    )
    return [ms for latencies in by_event.values() for ms in latencies]


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
        before = clients.cpu()
        for _ in range(args.events):
            publisher.publish(channel, repr(time.time()))
            time.sleep(args.interval)
        publisher.close()
        ms = (clients.cpu() - before) * 1000 / args.events
        print(f"the Redis floor's clients: {ms:.1f} ms CPU per event")
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
    parser.add_argument(
        "--idle", type=float, default=5, help="seconds of the servers' idle CPU measured first"
    )
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
        # With several Daphne processes the timer worker runs on its own (escalation_worker):
        # its polls would only add noise to the fan-out's figures.
        ESCALATION_WORKER_IN_PROCESS="0",
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
