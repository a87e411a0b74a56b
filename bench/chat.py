"""Web chat: from a visitor's message on ``ws/chat/`` to ``conversation.message`` on the screen of
the operator who holds the conversation.

Starts the stack as production runs it (2 ``manage.py serve`` processes, one
``manage.py escalation_worker``, PostgreSQL, the Redis channel layer) on a fresh database of its
own (``<DATABASE_URL's name>_chat``, dropped at the end) and adds ``--consoles`` operators of the
hotline centre, whose consoles (``/ws/console/``, ``Authorization: Token``) are held by a client
process of their own that stamps every frame as it arrives (``time.time()``).

``--visitors`` anonymous visitors open ``/ws/chat/`` with the ``websockets`` client library (an
``Origin`` of the site, as a browser sends), spread over both servers, and answer the pre-chat.
The first ``HOTLINE_MAX_CHATS`` (2) per operator are accepted (the accept service, as the
console's 接听 calls it), so each operator holds two conversations; the rest wait in the queue:
``--visitors`` conversations at once. Then, open loop for ``--seconds``, the held visitors send
``--held-rate`` messages a second in all and the waiting ones ``--rate`` (round robin); a message
is stamped as it is written. The server's ``sent`` frame names the message's id, which the
consoles' ``conversation.message`` frames carry.

The figure: per message of a held conversation, the time from the visitor's send until its
operator's console has the ``conversation.message`` frame; target p99 under 250 ms, every such
message on its operator's console and on no other. Beside it: every visitor's own round trip
(send to ``sent``), held or waiting.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crisisline REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/chat.py --visitors 500 --seconds 30

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
    Result,
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

# The demo's operators sign off (the seed leaves them available, and offers would go to them);
# then each bench operator takes the next conversations in queue order, as 接听 does, up to
# their limit.
SIGN_OFF_CODE = """
import json
from hotline import services
from hotline.models import OperatorPresence
signed_off = 0
for p in OperatorPresence.objects.exclude(status="offline").select_related("user"):
    services.set_presence(p.user, status="offline")
    signed_off += 1
print(json.dumps(signed_off))
"""
ACCEPT_CODE = """
import json
from django.conf import settings
from django.contrib.auth import get_user_model
from hotline import services
User = get_user_model()
held = {{}}
for i in range({consoles}):
    user = User.objects.get(username=f"bench-hotline-centre-{{i}}")
    for _ in range(settings.HOTLINE_MAX_CHATS):
        held[services.accept_call(user).pk] = i
print(json.dumps(held))
"""


# --- the operators' consoles (a client process of their own) -------------------------------------


async def _consoles(conn, hosts, tokens) -> None:
    consoles = await connect_consoles([tuple(h) for h in hosts], tokens)
    conn.send(("ready", len(consoles)))
    grace, expected = await asyncio.get_running_loop().run_in_executor(None, conn.recv)

    def visitors_message(payload: bytes) -> bool:
        return MESSAGE in payload[:80] and FROM_VISITOR in payload

    def received() -> int:
        return sum(visitors_message(payload) for ws in consoles for _, payload in ws.frames)

    await until(lambda: received() >= expected, grace)
    await asyncio.sleep(0.5)  # a frame on a console it should not reach would come now
    for ws in consoles:
        ws.close()
    arrivals = []
    for k, ws in enumerate(consoles):
        for at, payload in ws.frames:
            if visitors_message(payload):
                data = json.loads(payload)["data"]
                arrivals.append((k, data["call"], data["message"], at))
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
        self.accepted = False
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
                elif kind == "accepted":
                    self.accepted = True
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


async def open_visitors(hosts, first: int, n: int, readers: list, batch: int = 25) -> list[Visitor]:
    from websockets.asyncio.client import connect

    visitors = []

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

    for start in range(first, first + n, batch):
        end = min(start + batch, first + n)
        visitors += await asyncio.gather(*(one(i) for i in range(start, end)))
    return visitors


def schedule(visitors: list[Visitor], rate: float, seconds: float, tag: str):
    """Open-loop sends: ``rate`` a second in all, round robin over ``visitors``."""
    if not visitors or rate <= 0:
        return []
    return [
        (i / rate, visitors[i % len(visitors)], f"{tag}{i}") for i in range(int(rate * seconds))
    ]


async def drive(stack, hosts, args) -> tuple[list[Visitor], list[Visitor], dict, float]:
    loop = asyncio.get_running_loop()
    readers: list = []
    n_held = args.consoles * 2
    await loop.run_in_executor(None, stack.shell, SIGN_OFF_CODE)
    first = await open_visitors(hosts, 0, n_held, readers)
    code = ACCEPT_CODE.format(consoles=args.consoles)
    held_calls = await loop.run_in_executor(None, stack.shell, code)
    await until(lambda: all(v.accepted for v in first), 30)
    held = [v for v in first if v.accepted]
    waiting = [v for v in first if not v.accepted]
    waiting += await open_visitors(hosts, n_held, args.visitors - n_held, readers)
    print(
        f"{len(held)} conversations held by {args.consoles} operators, {len(waiting)} waiting "
        f"in the queue; load average {load_average()}"
    )
    sends = sorted(
        schedule(held, args.held_rate, args.seconds, "h")
        + schedule(waiting, args.rate, args.seconds, "w"),
        key=lambda s: s[0],
    )
    clock = time.perf_counter
    start = clock()
    began = time.time()
    sending = []
    for offset, v, client_id in sends:
        delay = start + offset - clock()
        if delay > 0:
            await asyncio.sleep(delay)
        sending.append(asyncio.ensure_future(v.say(client_id, f"{client_id}：我想找人说说话。")))
    await asyncio.gather(*sending, return_exceptions=True)
    everyone = held + waiting
    await until(lambda: sum(len(v.acked) for v in everyone) >= len(sends), args.grace)
    elapsed = clock() - start
    for v in everyone:
        await v.ws.close()
    for r in readers:
        r.cancel()
    return held, waiting, {int(k): i for k, i in held_calls.items()}, elapsed, began


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
    parser.add_argument("--consoles", type=int, default=10, help="operators, 2 chats each")
    parser.add_argument("--held-rate", type=float, default=10, help="held visitors' messages/s")
    parser.add_argument("--rate", type=float, default=40, help="waiting visitors' messages/s")
    parser.add_argument("--seconds", type=float, default=5, help="length of the run")
    parser.add_argument("--grace", type=float, default=20, help="seconds to wait for stragglers")
    parser.add_argument("--processes", type=int, default=2, help="Daphne processes")
    args = parser.parse_args()
    if args.visitors < args.consoles * 2:
        parser.error("--visitors must be at least two per console")
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
            held, waiting, holder_of, elapsed, began = run_async(drive(stack, hosts, args))
            load_run = load_average()
            expected = sum(len(v.acked) for v in held)
            for pipe in clients.pipes:  # the consoles wait for every held message or the grace
                pipe.send((args.grace, expected))
            arrivals = []
            for pipe in clients.pipes:
                if pipe.poll(args.grace + 60):
                    arrivals += pipe.recv()[1]
        problems = stack.problems()

    sent: dict[int, float] = {}  # message id -> when the held visitor wrote it
    round_trip = []
    errors: dict[str, int] = {}
    for v in held + waiting:
        for cid, (message_id, acked) in v.acked.items():
            if v in held:
                sent[message_id] = v.sent_at[cid]
            round_trip.append((acked - v.sent_at[cid]) * 1000)
        for code in v.errors:
            errors[code] = errors.get(code, 0) + 1
    to_holder, elsewhere, strays = Result(), 0, 0
    for console, call, message_id, at in arrivals:
        if message_id not in sent:
            strays += 1  # a waiting conversation's message on a console
        elif holder_of.get(call) != console:
            elsewhere += 1
        else:
            to_holder.latencies.append(at - sent[message_id])
            to_holder.starts.append(sent[message_id] - began)
    count = sum(len(v.sent_at) for v in held)
    ms = [s * 1000 for s in to_holder.latencies]
    p99 = percentile(ms, 99)
    ok = (
        len(ms) == count
        and not (elsewhere or strays or errors)
        and len(held) == args.consoles * 2
        and p99 < TARGET_P99_MS
    )
    total = count + sum(len(v.sent_at) for v in waiting)
    print(
        f"\n{len(held)} held and {len(waiting)} waiting conversations; {total} messages "
        f"({count} held at {args.held_rate:g}/s, the rest waiting at {args.rate:g}/s; "
        f"{elapsed:.1f} s) over {args.processes} Daphne processes (+ escalation_worker, "
        f"PostgreSQL, Redis); load average during the run {load_run}"
    )
    print(summary("held visitor send -> its operator", ms))
    print(f"  ({to_holder.tail()})")
    print(summary("any visitor send -> its own 'sent'", round_trip))
    print(
        f"  target p99 < {TARGET_P99_MS:g} ms, every held message on its operator's console "
        f"({len(ms)}/{count}; on another console {elsewhere}, waiting ones on a console "
        f"{strays}; visitor errors {errors or 0}): {verdict(ok)}"
    )
    print(problems)
    print(f"load average now {load_average()}")


if __name__ == "__main__":
    main()
