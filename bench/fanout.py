"""Console fan-out: events to 2,000 consoles in 200 organisations, publish to frame on the console.

The realistic shape: each event goes to its organisation's consoles plus the coordinators who
follow every organisation; at ``--rate`` events a second round robin over the organisations.
Starts the stack as production runs it (2 ``manage.py serve`` processes, one
``manage.py escalation_worker``, PostgreSQL, the Redis channel layer) on a fresh database of its
own (``<DATABASE_URL's name>_fanout``, dropped at the end), and adds the staff by the ORM in
``manage.py shell``: ``--coordinators`` coordinators of a coordination centre and the other
consoles spread over ``--orgs`` organisations (every one of them also a member of one more
organisation, used only by the stress line). Each user's console is a WebSocket to
``/ws/console/`` (``Authorization: Token``), spread over both servers and over
``--client-procs`` client processes (bare asyncio protocols stamping each frame with
``time.time()`` as it arrives, decoded after the run).

The events come from a driver process inside Django with the app's settings
(``python bench/fanout.py --drive``): it calls ``realtime.publish.publish`` in a transaction, as
every service does, with audiences ``org:<id>`` and ``orgrole:<centre>:coordinator``, and puts
``time.time()`` in the event's data just before the transaction opens. The latency is the
console's receipt minus that stamp (the same machine, the same clock): the insert, the commit,
the broadcast after it, Redis, Daphne and the client's read. Target p99 under 100 ms.

In the same run:

- the floor: raw Redis pub/sub in the same shape (as many subscribers on one channel per
  organisation plus one the coordinators share, each message published to both, at the same rate,
  from redis-py; receipt minus the publisher's stamp);
- a stress line, no target: every console gets every event (one organisation with all of them,
  the old shape), ``--stress-rate`` events a second for ``--stress-seconds``.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crisisline REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/fanout.py --consoles 2000 --orgs 200 --rate 20 --seconds 30

(the target run; without arguments a smoke run: 200 consoles in 20 organisations for 5 seconds).
Loopback only; stops by itself.
"""

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time

from common import (
    PY,
    ROOT,
    Clients,
    Stack,
    connect_consoles,
    cpu_seconds,
    create_staff,
    load_average,
    percentile,
    raise_fd_limit,
    run_async,
    shares,
    subscribe,
    until,
    verdict,
)

TARGET_P99_MS = 100.0
TICK, STRESS = "bench.tick", "bench.stress"


# --- the driver: a process inside Django -------------------------------------------------------


def drive(plan: dict) -> None:
    """Publishes ``plan["count"]`` events of ``plan["type"]``, open loop at ``plan["rate"]``;
    event n goes to organisation ``plan["orgs"][n % len]`` (and the centre's coordinators)."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from channels.db import database_sync_to_async
    from django.db import transaction

    from realtime import audiences as aud
    from realtime.publish import publish

    def publish_one(n: int, type_: str = plan["type"]) -> None:
        org = plan["orgs"][n % len(plan["orgs"])]
        audiences = [aud.org(org)]
        if plan["centre"] is not None:
            audiences.append(aud.org_role(plan["centre"], "coordinator"))
        data = {"t": time.time(), "n": n}
        with transaction.atomic():
            publish(type_, data=data, audiences=audiences)

    async def run() -> None:
        # Under an event loop, from its thread pool, as a view under Daphne publishes.
        # Opens the database and Redis connections; the consoles do not count it.
        await database_sync_to_async(publish_one)(0, "bench.warmup")
        await asyncio.sleep(1)
        start = time.perf_counter()
        for n in range(plan["count"]):
            delay = start + n / plan["rate"] - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await database_sync_to_async(publish_one)(n)
        seconds = time.perf_counter() - start
        # A broadcast may still be on its way after publish() returns: let it leave before the
        # loop (and the process) ends.
        await asyncio.sleep(2)
        print(json.dumps({"seconds": seconds}))

    asyncio.run(run())


def run_driver(stack: Stack, plan: dict) -> float:
    done = subprocess.run(
        [PY, __file__, "--drive"],
        cwd=ROOT,
        env=stack.env,
        input=json.dumps(plan),
        capture_output=True,
        text=True,
    )
    if done.returncode:
        sys.exit(f"the driver failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])["seconds"]


# --- console clients -----------------------------------------------------------------------------


async def _consoles(conn, first: int, hosts, tokens: list[str], expected: list[int]) -> None:
    try:
        consoles = await connect_consoles([tuple(h) for h in hosts], tokens)
    except RuntimeError as exc:
        conn.send(("error", str(exc)))
        return
    conn.send(("ready", len(consoles)))
    loop = asyncio.get_running_loop()
    for phase in (TICK, STRESS):
        marker = f'"type":"{phase}"'.encode()
        grace, more = await loop.run_in_executor(None, conn.recv)
        for k, ws in enumerate(consoles):
            ws.wanted = expected[k] if phase == TICK else more
        await until(
            lambda m=marker: all(
                sum(m in p[:60] for _, p in ws.frames) >= ws.wanted for ws in consoles
            ),
            grace,
        )
        latencies = []
        for k, ws in enumerate(consoles):
            for at, payload in ws.frames:
                if marker in payload[:60]:
                    data = json.loads(payload)["data"]
                    latencies.append((first + k, data["n"], (at - data["t"]) * 1000))
        for ws in consoles:
            ws.frames.clear()
        conn.send((phase, latencies))
    for ws in consoles:
        ws.close()


def consoles_process(conn, fd_limit, *args) -> None:
    raise_fd_limit(fd_limit)
    run_async(_consoles(conn, *args))


async def _subscribers(conn, redis_url: str, channels: list[str], expected: list[int]) -> None:
    subscribers = await subscribe(redis_url, channels)
    conn.send(("ready", len(subscribers)))
    grace, _more = await asyncio.get_running_loop().run_in_executor(None, conn.recv)
    await until(
        lambda: all(len(s.messages) >= n for s, n in zip(subscribers, expected, strict=True)),
        grace,
    )
    for s in subscribers:
        s.transport.close()
    conn.send(
        ("floor", [(at - float(sent)) * 1000 for s in subscribers for at, sent in s.messages])
    )


def subscribers_process(conn, fd_limit, *args) -> None:
    raise_fd_limit(fd_limit)
    run_async(_subscribers(conn, *args))


def phase(clients: Clients, grace: float, more: int = 0) -> list[float]:
    for pipe in clients.pipes:
        pipe.send((grace, more))
    results = []
    for pipe in clients.pipes:
        if pipe.poll(grace + 120):
            results += pipe.recv()[1]
    return results


# --- the run -------------------------------------------------------------------------------------


def layout(args) -> tuple[list[int], list[int]]:
    """Console k's organisation index (-1 for a coordinator), and the events each console expects
    when event n goes to organisation n % orgs and to every coordinator."""
    members = args.consoles - args.coordinators
    orgs = [k % args.orgs for k in range(members)] + [-1] * args.coordinators
    events = int(args.rate * args.seconds)
    per_org = [events // args.orgs + (j < events % args.orgs) for j in range(args.orgs)]
    return orgs, [events if j < 0 else per_org[j] for j in orgs]


def console_run(args, stack: Stack, fd_limit: int) -> dict:
    orgs, expected = layout(args)
    members = args.consoles - args.coordinators
    spec = [
        [f"bench-org-{j}", "counselling_centre", ["counsellor"] * orgs[:members].count(j)]
        for j in range(args.orgs)
    ]
    spec.append(["bench-centre", "guidance_centre", ["coordinator"] * args.coordinators])
    print(f"creating {args.consoles} users in {args.orgs + 1} organisations ...", flush=True)
    staff = create_staff(stack, spec, also=["bench-everyone", "counselling_centre", "counsellor"])
    queues = {j: list(staff[f"bench-org-{j}"]["tokens"]) for j in range(args.orgs)}
    queues[-1] = list(staff["bench-centre"]["tokens"])
    tokens = [queues[j].pop(0)[1] for j in orgs]
    org_ids = [staff[f"bench-org-{j}"]["id"] for j in range(args.orgs)]
    events = int(args.rate * args.seconds)
    stress_events = int(args.stress_rate * args.stress_seconds) if not args.no_stress else 0
    per_process = [
        (fd_limit, part.start, stack.hosts, [tokens[k] for k in part], [expected[k] for k in part])
        for part in shares(args.consoles, args.client_procs)
    ]
    figures = {}
    with Clients(consoles_process, per_process) as clients:
        connected = clients.ready(timeout=900)
        print(
            f"{connected} consoles connected over {len(stack.hosts)} Daphne processes from "
            f"{args.client_procs} client processes; load average {load_average()}",
            flush=True,
        )
        plan = {"type": TICK, "orgs": org_ids, "centre": staff["bench-centre"]["id"]}
        cpu = [cpu_seconds(pid) for pid in stack.server_pids]
        seconds = run_driver(stack, {**plan, "count": events, "rate": args.rate})
        used = sum(cpu_seconds(pid) for pid in stack.server_pids) - sum(cpu)
        figures["load"] = load_average()
        figures["tick"] = phase(clients, args.grace)
        figures["tick_expected"] = sum(expected)
        figures["tick_note"] = (
            f"{events} events in {seconds:.1f} s; Daphne CPU {used * 1000 / events:.1f} ms "
            "per event over both processes (the driver's warm-up included)"
        )
        if stress_events:
            plan = {"type": STRESS, "orgs": [staff["bench-everyone"]["id"]], "centre": None}
            run_driver(stack, {**plan, "count": stress_events, "rate": args.stress_rate})
            figures["stress_load"] = load_average()
        figures["stress"] = phase(clients, args.grace, stress_events)
        figures["stress_expected"] = stress_events * args.consoles
        for pipe in clients.pipes:
            pipe.close()
    return figures


def redis_floor(args, fd_limit: int) -> tuple[list[float], int]:
    """Raw Redis pub/sub in the same shape, at the same rate."""
    import redis

    url, tag = os.environ["REDIS_URL"], f"bench-fanout-floor-{os.getpid()}"
    orgs, expected = layout(args)
    channels = [f"{tag}-{j}" for j in orgs]  # -1: the coordinators' channel
    per_process = [
        (fd_limit, url, [channels[k] for k in part], [expected[k] for k in part])
        for part in shares(args.consoles, args.client_procs)
    ]
    with Clients(subscribers_process, per_process) as clients:
        clients.ready(timeout=300)
        publisher = redis.Redis.from_url(url)
        start = time.perf_counter()
        for n in range(int(args.rate * args.seconds)):
            delay = start + n / args.rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            stamp = repr(time.time())
            publisher.publish(f"{tag}-{n % args.orgs}", stamp)
            if args.coordinators:
                publisher.publish(f"{tag}--1", stamp)
        publisher.close()
        return phase(clients, args.grace), sum(expected)


def gaps(deliveries: list[tuple[int, int, float]], wanted) -> str:
    """Which (console, event) pairs never arrived (or arrived twice): a lost frame is a bug."""
    got = [(k, n) for k, n, _ms in deliveries]
    missing = set(wanted) - set(got)
    doubled = len(got) - len(set(got))
    if not missing and not doubled:
        return ""
    events = sorted({n for _k, n in missing})
    consoles = sorted({k for k, _n in missing})
    return (
        f"  missing {len(missing)} frames: events {events[:10]}{' ...' if len(events) > 10 else ''}"
        f" on consoles {consoles[:10]}{' ...' if len(consoles) > 10 else ''}; "
        f"{doubled} duplicates"
    )


def summary(label: str, ms: list[float], expected: int) -> str:
    return (
        f"  {label:30s} delivered {len(ms):7d}/{expected:<7d} p50 {percentile(ms, 50):7.1f} ms  "
        f"p99 {percentile(ms, 99):7.1f} ms  max {max(ms, default=float('nan')):7.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--consoles", type=int, default=200, help="consoles in all")
    parser.add_argument("--orgs", type=int, default=20, help="organisations they are in")
    parser.add_argument("--coordinators", type=int, default=10, help="consoles getting every event")
    parser.add_argument("--rate", type=float, default=20, help="events/s, round robin over orgs")
    parser.add_argument("--seconds", type=float, default=5, help="length of the run")
    parser.add_argument("--stress-rate", type=float, default=2, help="events/s to every console")
    parser.add_argument("--stress-seconds", type=float, default=5)
    parser.add_argument("--no-stress", action="store_true", help="skip the stress line")
    parser.add_argument("--no-floor", action="store_true", help="skip the raw Redis floor")
    parser.add_argument("--client-procs", type=int, default=2, help="console client processes")
    parser.add_argument("--grace", type=float, default=30, help="seconds to wait for stragglers")
    parser.add_argument("--processes", type=int, default=2, help="Daphne processes")
    parser.add_argument("--drive", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drive:
        drive(json.load(sys.stdin))
        return
    if not 0 <= args.coordinators < args.consoles or args.orgs > args.consoles - args.coordinators:
        parser.error("need at least one console per organisation besides the coordinators")
    fd_limit = raise_fd_limit(2 * args.consoles + 256)
    with Stack("fanout", processes=args.processes) as stack:
        figures = console_run(args, stack, fd_limit)
        problems = stack.problems()
    floor = ([], 0) if args.no_floor else redis_floor(args, fd_limit)

    events = int(args.rate * args.seconds)
    print(
        f"\n{args.consoles} consoles ({args.coordinators} coordinators getting every event, the "
        f"rest in {args.orgs} organisations) over {args.processes} Daphne processes "
        f"(+ escalation_worker, PostgreSQL, Redis) and {args.client_procs} client processes"
    )
    print(
        f"realistic: {events} events at {args.rate:g}/s, each to its organisation and the "
        f"coordinators; {figures['tick_note']}; load average {figures['load']}"
    )
    orgs, _expected = layout(args)
    ticks = [ms for _k, _n, ms in figures["tick"]]
    print(summary("publish -> console frame", ticks, figures["tick_expected"]))
    wanted = [
        (k, n) for k, j in enumerate(orgs) for n in range(events) if j < 0 or n % args.orgs == j
    ]
    print(gaps(figures["tick"], wanted) or "  every frame delivered once")
    if not args.no_floor:
        print(summary("floor: raw Redis pub/sub", *floor))
    p99 = percentile(ticks, 99)
    ok = sorted({(k, n) for k, n, _ in figures["tick"]}) == sorted(wanted) and p99 < TARGET_P99_MS
    print(
        f"  target p99 < {TARGET_P99_MS:g} ms with every frame delivered: {verdict(ok)}"
        + (f" (p99 ratio to the floor {p99 / percentile(floor[0], 99):.1f}x)" if floor[0] else "")
    )
    if not args.no_stress:
        print(
            f"stress (no target): every console gets every event, "
            f"{int(args.stress_rate * args.stress_seconds)} events at {args.stress_rate:g}/s; "
            f"load average {figures.get('stress_load')}"
        )
        stress = figures["stress"]
        print(
            summary(
                "publish -> console frame", [ms for *_, ms in stress], figures["stress_expected"]
            )
        )
        n_stress = int(args.stress_rate * args.stress_seconds)
        wanted = [(k, n) for k in range(args.consoles) for n in range(n_stress)]
        print(gaps(stress, wanted) or "  every frame delivered once")
    print(problems)
    print(f"load average now {load_average()}")


if __name__ == "__main__":
    main()
