"""Web chat: from a visitor's message on ``ws/chat/`` to ``conversation.message`` on the consoles.

Starts the stack as production runs it (2 ``manage.py serve`` processes, one
``manage.py escalation_worker``, PostgreSQL, the Redis channel layer) on a fresh database of its
own (``<DATABASE_URL's name>_chat``, dropped at the end) and adds ``--consoles`` operators of the
hotline centre, whose consoles (``/ws/console/``, ``Authorization: Token``) are held by a client
process of their own that stamps every frame as it arrives (``time.time()``).

``--visitors`` anonymous visitors then open ``/ws/chat/`` with the ``websockets`` client library
(an ``Origin`` of the site, as a browser sends), spread over both servers, answer the pre-chat
and wait in the queue: ``--visitors`` conversations at once. They send messages open loop,
``--rate`` a second in all for ``--seconds``, each from the next visitor round robin; a message
is stamped as it is written. The server's ``sent`` frame names the message's id, which the
consoles' ``conversation.message`` frames carry.

The figure: per message, the time from the visitor's send until the last console has its
``conversation.message`` frame (and until the first); target p99 under 250 ms, every message on
every console. Beside it: the visitor's own round trip (send to ``sent``).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crisisline REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/chat.py --visitors 500 --rate 50 --seconds 30

(the target run; without arguments a short smoke run of the same shape). The visitors all come
from 127.0.0.1, so the per-address limits are lifted for the run (documented settings only).
Loopback only; stops by itself.
"""

import argparse
import asyncio
import json
import time

from common import (
    Clients,
    Stack,
    connect_consoles,
    create_staff,
    load_average,
    percentile,
    raise_fd_limit,
    run_async,
    until,
    verdict,
)

TARGET_P99_MS = 250.0
MESSAGE = b'"conversation.message"'
FROM_VISITOR = b'"direction":"in"'  # not the pre-chat summaries (system messages)
PRE_CHAT = {"age_group": "18_24", "district": "", "safe": "yes"}


# --- the operators' consoles (a client process of their own) -------------------------------------


async def _consoles(conn, hosts, tokens) -> None:
    consoles = await connect_consoles([tuple(h) for h in hosts], tokens)
    conn.send(("ready", len(consoles)))
    grace, expected = await asyncio.get_running_loop().run_in_executor(None, conn.recv)

    def visitors_message(payload: bytes) -> bool:
        return MESSAGE in payload[:80] and FROM_VISITOR in payload

    def received(ws) -> int:
        return sum(visitors_message(payload) for _, payload in ws.frames)

    await until(lambda: all(received(ws) >= expected for ws in consoles), grace)
    for ws in consoles:
        ws.close()
    arrivals = []
    for k, ws in enumerate(consoles):
        for at, payload in ws.frames:
            if visitors_message(payload):
                arrivals.append((k, json.loads(payload)["data"]["message"], at))
    conn.send(("arrivals", arrivals))


def consoles_process(conn, *args) -> None:
    run_async(_consoles(conn, *args))


# --- the visitors (websockets client library) -------------------------------------------------


class Visitor:
    """One visitor's socket: starts a chat, then sends what it is given and notes each ``sent``."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.sent_at: dict[str, float] = {}  # client id -> when written
        self.acked: dict[str, tuple[int, float]] = {}  # client id -> (message id, when acked)
        self.errors: list[str] = []
        self.started = asyncio.get_running_loop().create_future()

    async def read(self) -> None:
        import websockets

        try:
            async for raw in self.ws:
                now = time.time()
                frame = json.loads(raw)
                kind = frame.get("type")
                if kind == "sent":
                    self.acked[frame["client_id"]] = (frame["id"], now)
                elif kind == "started" and not self.started.done():
                    self.started.set_result(None)
                elif kind == "error":
                    self.errors.append(frame.get("code", "?"))
                    if not self.started.done():
                        self.started.set_exception(RuntimeError(frame.get("code")))
        except websockets.ConnectionClosed:
            pass

    async def say(self, client_id: str, body: str) -> None:
        self.sent_at[client_id] = time.time()
        await self.ws.send(json.dumps({"type": "message", "body": body, "client_id": client_id}))


async def open_visitors(hosts, n: int, batch: int = 25) -> tuple[list[Visitor], list]:
    from websockets.asyncio.client import connect

    visitors, readers = [], []

    async def one(i: int) -> Visitor:
        host, port = hosts[i % len(hosts)]
        for attempt in range(5):  # under load Daphne drops a handshake past its timeout
            try:
                async with asyncio.timeout(30):
                    ws = await connect(
                        f"ws://{host}:{port}/ws/chat/",
                        origin=f"http://{host}:{port}",
                        compression=None,
                        max_size=2**16,
                    )
                    v = Visitor(ws)
                    readers.append(asyncio.ensure_future(v.read()))
                    await ws.send(json.dumps({"type": "start", "pre_chat": PRE_CHAT}))
                    await v.started
                    return v
            except (OSError, TimeoutError):
                await asyncio.sleep(0.5 * (attempt + 1))
        raise RuntimeError(f"visitor {i} could not start a chat on {host}:{port}")

    for start in range(0, n, batch):
        visitors += await asyncio.gather(*(one(i) for i in range(start, min(start + batch, n))))
    return visitors, readers


async def drive(hosts, args) -> tuple[list[Visitor], float]:
    visitors, readers = await open_visitors(hosts, args.visitors)
    print(f"{len(visitors)} visitors waiting in the queue; load average {load_average()}")
    count = int(args.rate * args.seconds)
    clock = time.perf_counter
    start = clock()
    sending = []
    for i in range(count):
        delay = start + i / args.rate - clock()
        if delay > 0:
            await asyncio.sleep(delay)
        v = visitors[i % len(visitors)]
        sending.append(asyncio.ensure_future(v.say(str(i), f"第{i}条消息：我想找人说说话。")))
    await asyncio.gather(*sending, return_exceptions=True)
    await until(lambda: sum(len(v.acked) for v in visitors) >= count, args.grace)
    elapsed = clock() - start
    for v in visitors:
        await v.ws.close()
    for r in readers:
        r.cancel()
    return visitors, elapsed


def summary(label: str, ms: list[float]) -> str:
    return (
        f"  {label:36s} n {len(ms):6d}  p50 {percentile(ms, 50):7.1f} ms  "
        f"p95 {percentile(ms, 95):7.1f} ms  p99 {percentile(ms, 99):7.1f} ms  "
        f"max {max(ms, default=float('nan')):7.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--visitors", type=int, default=50, help="concurrent web-chat visitors")
    parser.add_argument("--consoles", type=int, default=10, help="operator consoles")
    parser.add_argument("--rate", type=float, default=10, help="visitor messages/s, in all")
    parser.add_argument("--seconds", type=float, default=5, help="length of the run")
    parser.add_argument("--grace", type=float, default=20, help="seconds to wait for stragglers")
    parser.add_argument("--processes", type=int, default=2, help="Daphne processes")
    args = parser.parse_args()
    count = int(args.rate * args.seconds)
    raise_fd_limit(args.visitors * 2 + args.consoles * 2 + 256)

    lifted = {
        "CHAT_IP_SOCKETS": args.visitors * 2,
        "CHAT_IP_STARTS_PER_HOUR": args.visitors * 10,
        "CHAT_IP_RATE": 100_000,
        "CHAT_IP_BURST": 100_000,
    }
    with Stack("chat", processes=args.processes, **lifted) as stack:
        staff = create_staff(stack, [["hotline-centre", None, ["operator"] * args.consoles]])
        tokens = [key for _role, key in staff["hotline-centre"]["tokens"]]
        hosts = stack.hosts
        with Clients(consoles_process, [(hosts, tokens)]) as clients:
            connected = clients.ready(timeout=120)
            print(f"{connected} operator consoles connected over {len(hosts)} Daphne processes")
            visitors, elapsed = run_async(drive(hosts, args))
            load_run = load_average()
            for pipe in clients.pipes:  # the consoles wait for every message or the grace
                pipe.send((args.grace, count))
            arrivals = []
            for pipe in clients.pipes:
                if pipe.poll(args.grace + 60):
                    arrivals += pipe.recv()[1]
        problems = stack.problems()

    sent: dict[int, float] = {}
    round_trip = []
    errors: dict[str, int] = {}
    for v in visitors:
        for cid, (message_id, acked) in v.acked.items():
            sent[message_id] = v.sent_at[cid]
            round_trip.append((acked - v.sent_at[cid]) * 1000)
        for code in v.errors:
            errors[code] = errors.get(code, 0) + 1
    by_message: dict[int, list[float]] = {}
    for _k, message_id, at in arrivals:
        if message_id in sent:
            by_message.setdefault(message_id, []).append((at - sent[message_id]) * 1000)
    complete = [max(ms) for ms in by_message.values() if len(ms) == args.consoles]
    first = [min(ms) for ms in by_message.values()]
    p99 = percentile(complete, 99)
    ok = len(complete) == count and not errors and p99 < TARGET_P99_MS

    print(
        f"\n{args.visitors} visitors in the queue, {count} messages at {args.rate:g}/s "
        f"({elapsed:.1f} s) to {args.consoles} operator consoles over {args.processes} Daphne "
        f"processes (+ escalation_worker, PostgreSQL, Redis); load average during the run "
        f"{load_run}"
    )
    print(summary("visitor send -> every console", complete))
    print(summary("visitor send -> first console", first))
    print(summary("visitor send -> its own 'sent'", round_trip))
    print(
        f"  target p99 < {TARGET_P99_MS:g} ms, every message on every console "
        f"({len(complete)}/{count} complete, visitor errors {errors or 0}): {verdict(ok)}"
    )
    print(problems)
    print(f"load average now {load_average()}")


if __name__ == "__main__":
    main()
