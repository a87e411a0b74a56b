"""Call to console: from an incoming-call webhook's POST to ``call.queued`` on every console.

Starts the stack as production runs it (2 ``manage.py serve`` processes, one
``manage.py escalation_worker``, PostgreSQL, the Redis channel layer) on a fresh database of its
own (``<DATABASE_URL's name>_console``, dropped at the end), and adds ``--consoles`` operators of
the hotline centre (users, memberships and API tokens made by the ORM in ``manage.py shell``).
Each operator's console is a WebSocket to ``/ws/console/`` (``Authorization: Token``), spread over
both servers, held by a client process of its own that stamps every frame as it arrives
(``time.time()``). This process then posts signed incoming-call webhooks open loop, ``--rate`` a
second for ``--seconds``, round robin over the servers, and stamps each POST as it is written
(the same clock).

The figure: per call, the time from its POST until the last of the consoles has its
``call.queued`` frame; target p99 under 250 ms. Beside it, in the same run, the floors: the
webhook's own answer time (POST to HTTP response) and the raw Redis pub/sub round trip to as
many subscribers at the same rate.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crisisline REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/call_to_console.py --consoles 20 --rate 20 --seconds 30

(the target run; without arguments a 5-second smoke run of the same shape). Loopback only; stops
by itself.
"""

import argparse
import asyncio
import json
import os
import time
import uuid

from common import (
    Clients,
    Pool,
    Stack,
    Webhooks,
    closed_loop,
    connect_consoles,
    create_staff,
    http_request,
    load_average,
    open_loop,
    percentile,
    run_async,
    subscribe,
    until,
    verdict,
)

TARGET_P99_MS = 250.0
QUEUED = b'"type":"call.queued"'


async def _consoles(conn, hosts, tokens, calls: int) -> None:
    consoles = await connect_consoles([tuple(h) for h in hosts], tokens)
    conn.send(("ready", len(consoles)))
    grace = await asyncio.get_running_loop().run_in_executor(None, conn.recv)

    def queued(ws) -> int:
        return sum(QUEUED in payload[:80] for _, payload in ws.frames)

    await until(lambda: all(queued(ws) >= calls for ws in consoles), grace)
    for ws in consoles:
        ws.close()
    conn.send(
        (
            "arrivals",
            [
                (k, json.loads(payload)["data"]["call_sid"], at)
                for k, ws in enumerate(consoles)
                for at, payload in ws.frames
                if QUEUED in payload[:80]
            ],
        )
    )


def consoles_process(conn, *args) -> None:
    run_async(_consoles(conn, *args))


async def _subscribers(conn, redis_url: str, channel: str, count: int, messages: int) -> None:
    subscribers = await subscribe(redis_url, [channel] * count)
    conn.send(("ready", count))
    grace = await asyncio.get_running_loop().run_in_executor(None, conn.recv)
    await until(lambda: all(len(s.messages) >= messages for s in subscribers), grace)
    for s in subscribers:
        s.transport.close()
    conn.send(("arrivals", [(at, float(sent)) for s in subscribers for at, sent in s.messages]))


def subscribers_process(conn, *args) -> None:
    run_async(_subscribers(conn, *args))


def redis_floor(args, calls: int) -> list[float]:
    """The same number of subscribers and messages at the same rate: receipt minus publish."""
    import redis

    url, channel = os.environ["REDIS_URL"], f"bench-console-floor-{os.getpid()}"
    with Clients(subscribers_process, [(url, channel, args.consoles, calls)]) as clients:
        clients.ready(timeout=60)
        publisher = redis.Redis.from_url(url)
        start = time.perf_counter()
        for i in range(calls):
            delay = start + i / args.rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            publisher.publish(channel, repr(time.time()))
        publisher.close()
        arrivals = clients.gather(args.grace)
    return [(at - sent) * 1000 for at, sent in arrivals]


def summary(label: str, ms: list[float], note: str = "") -> str:
    return (
        f"  {label:34s} n {len(ms):6d}  p50 {percentile(ms, 50):7.1f} ms  "
        f"p99 {percentile(ms, 99):7.1f} ms  max {max(ms, default=float('nan')):7.1f} ms{note}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--consoles", type=int, default=20, help="operator consoles")
    parser.add_argument("--rate", type=float, default=20, help="calls/s (open loop)")
    parser.add_argument("--seconds", type=float, default=5, help="length of the run")
    parser.add_argument("--grace", type=float, default=20, help="seconds to wait for stragglers")
    parser.add_argument("--processes", type=int, default=2, help="Daphne processes")
    args = parser.parse_args()
    calls = int(args.rate * args.seconds)

    with Stack("console", processes=args.processes) as stack:
        staff = create_operators(stack, args.consoles)
        hosts = stack.hosts
        hooks = Webhooks(uuid.uuid4().hex[:8])
        warm = [[hooks.incoming(i, h) for h in hosts] for i in range(50)]
        requests = [[hooks.incoming(50 + i, h) for h in hosts] for i in range(calls)]
        sids = [hooks.call_sid(50 + i) for i in range(calls)]
        sent: dict[str, float] = {}
        answered: dict[str, float] = {}

        async def post_calls():
            pool = Pool(hosts)
            await closed_loop(pool, [[http_request("GET", "/healthz", h) for h in hosts]] * 50, 4)
            await closed_loop(pool, warm, 4)  # the servers' first calls: not counted
            await asyncio.sleep(1)
            result = await open_loop(
                pool,
                requests,
                args.rate,
                on_sent=lambda i, t: sent.__setitem__(sids[i], t),
                on_answered=lambda i, t: answered.__setitem__(sids[i], t),
            )
            pool.close()
            return result

        with Clients(consoles_process, [(hosts, staff, calls + len(warm))]) as clients:
            connected = clients.ready(timeout=120)
            print(
                f"{connected} operator consoles connected over {len(hosts)} Daphne processes; "
                f"load average {load_average()}",
                flush=True,
            )
            webhook = run_async(post_calls())
            load_run = load_average()
            arrivals = clients.gather(args.grace)
        problems = stack.problems()

    by_call: dict[str, list[float]] = {}
    for _k, sid, at in arrivals:
        if sid in sent:
            by_call.setdefault(sid, []).append((at - sent[sid]) * 1000)
    complete = [max(ms) for sid, ms in by_call.items() if len(ms) == args.consoles]
    first = min(sent.values(), default=0)
    slowest = sorted(by_call, key=lambda sid: -max(by_call[sid]))[: max(1, calls // 100)]
    when = sorted({int(sent[sid] - first) for sid in slowest})
    every = [ms for all_ms in by_call.values() for ms in all_ms]
    # The fan-out's own share: the last console's frame after the webhook's answer (below zero
    # when the frames were out before the answer).
    after = [
        max(ms) - (answered[sid] - sent[sid]) * 1000
        for sid, ms in by_call.items()
        if len(ms) == args.consoles and sid in answered
    ]
    floor = redis_floor(args, calls)

    print(
        f"\n{calls} calls at {args.rate:g}/s to {args.consoles} operator consoles over "
        f"{len(hosts)} Daphne processes (+ escalation_worker, PostgreSQL, Redis); "
        f"load average during the run {load_run}"
    )
    p99 = percentile(complete, 99)
    ok = len(complete) == calls and not webhook.errors and p99 < TARGET_P99_MS
    print(summary("POST -> call.queued on every console", complete))
    print(
        f"  target p99 < {TARGET_P99_MS:g} ms, every call on every console "
        f"({len(complete)}/{calls} calls complete, webhook errors {webhook.errors or 0}): "
        f"{verdict(ok)}"
    )
    print(
        f"  the slowest {len(slowest)} calls were posted in second(s) "
        + ", ".join(f"+{s}" for s in when[:8])
        + f" of {args.seconds:g}"
    )
    print(summary("POST -> call.queued, each console", every))
    print(summary("floor: webhook POST -> response", [s * 1000 for s in webhook.latencies]))
    print(summary("  every console, after the response", after))
    print(summary(f"floor: raw Redis pub/sub, {args.consoles} subs", floor))
    print(problems)
    print(f"load average now {load_average()}")


def create_operators(stack: Stack, n: int) -> list[str]:
    staff = create_staff(stack, [["hotline-centre", None, ["operator"] * n]])
    return [key for _role, key in staff["hotline-centre"]["tokens"]]


if __name__ == "__main__":
    main()
