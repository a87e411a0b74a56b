"""Intake: signed Twilio incoming-call webhooks against 2 Daphne + the worker + PostgreSQL + Redis.

Starts the stack as production runs it (``manage.py serve`` processes on their own ports, one
``manage.py escalation_worker``, ESCALATION_WORKER_IN_PROCESS=0) on a fresh database of its own
(``<DATABASE_URL's name>_intake``, migrated and seeded, dropped at the end). The client is one
asyncio process with keep-alive connections spread round robin over the servers (in place of the
proxy); every request is encoded, signature included, before the clock starts. Then:

- open loop: ``--rate`` webhooks a second for ``--seconds`` (each starts on schedule whatever the
  answers before it; latency from the scheduled start), distinct CallSids, every 4th from a
  number that called before (a known person with a case). Target: at least 50 calls/s sustained
  with p99 under 300 ms. The floor: ``GET /healthz`` (a bare Django view, same servers, same
  client) at the same rate.
- closed loop: ``--concurrency`` workers, ``--calls`` webhooks and as many bare requests in
  alternating rounds: the most the servers take, and the ratio intake/bare (no target).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crisisline REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/intake.py --rate 60 --seconds 30 --calls 2000

(the target run; without arguments a 10-second smoke run). Loopback only; stops by itself.
"""

import argparse
import uuid

from common import (
    Pool,
    Result,
    Stack,
    Webhooks,
    closed_loop,
    cpu_seconds,
    http_request,
    load_average,
    open_loop,
    run_async,
    verdict,
)

TARGET_RATE, TARGET_P99_MS = 50.0, 300.0


def line(label: str, r: Result, unit: str) -> str:
    return (
        f"  {label:9s} {len(r.latencies):6d} {unit:5s} {r.rate:7.1f}/s  p50 {r.ms(50):7.1f} ms  "
        f"p99 {r.ms(99):7.1f} ms  errors {r.errors or 0}"
    )


async def bench(args, stack: Stack) -> None:
    hosts = stack.hosts
    hooks = Webhooks(uuid.uuid4().hex[:8])
    n_open = int(args.rate * args.seconds)
    numbered = iter(range(10**9))

    def webhooks(n: int) -> list[list[bytes]]:
        return [[hooks.incoming(i, h) for h in hosts] for i in (next(numbered) for _ in range(n))]

    bare = [http_request("GET", "/healthz", h) for h in hosts]
    warm, calls_open, calls_closed = webhooks(200), webhooks(n_open), webhooks(args.calls)
    pool = Pool(hosts)
    await closed_loop(pool, [bare] * 400, args.concurrency)
    await closed_loop(pool, warm, args.concurrency)

    cpu = {pid: cpu_seconds(pid) for pid in stack.server_pids}
    print(f"open loop: {args.rate:g}/s for {args.seconds:g} s; load average {load_average()}")
    floor_open = await open_loop(pool, [bare] * n_open, args.rate)
    intake_open = await open_loop(pool, calls_open, args.rate)
    load_open = load_average()
    cpu_open = sum(cpu_seconds(pid) - t for pid, t in cpu.items())

    intake_closed, floor_closed = Result(), Result()
    size = max(1, args.calls // args.rounds)
    for k in range(0, args.calls, size):
        for result, batch in (
            (intake_closed, calls_closed[k : k + size]),
            (floor_closed, [bare] * len(calls_closed[k : k + size])),
        ):
            r = await closed_loop(pool, batch, args.concurrency)
            result.latencies += r.latencies
            result.elapsed += r.elapsed
            for what, n in r.errors.items():
                result.errors[what] = result.errors.get(what, 0) + n
    pool.close()

    print(
        f"\n[{len(hosts)} Daphne processes + escalation_worker, PostgreSQL + Redis channel "
        f"layer; {pool.opened} client connections]"
    )
    print(f"open loop, {args.rate:g}/s offered for {args.seconds:g} s (load average {load_open}):")
    print(line("intake", intake_open, "calls"))
    print(line("bare view", floor_open, "req") + "   <- floor")
    ok = (
        intake_open.rate >= TARGET_RATE
        and intake_open.ms(99) < TARGET_P99_MS
        and not intake_open.errors
    )
    print(
        f"  intake: {intake_open.rate:.1f} calls/s sustained, p99 {intake_open.ms(99):.1f} ms; "
        f"target >= {TARGET_RATE:g} calls/s with p99 < {TARGET_P99_MS:g} ms: {verdict(ok)}  "
        f"(floor p99 {floor_open.ms(99):.1f} ms; p99 ratio intake/bare "
        f"{intake_open.ms(99) / floor_open.ms(99):.1f}x)"
    )
    print(f"  intake: {intake_open.tail()}")
    print(
        f"  Daphne CPU per open-loop request (intake and bare together): "
        f"{cpu_open * 1000 / (2 * n_open):.1f} ms"
    )
    print(f"closed loop, concurrency {args.concurrency}, {args.rounds} alternating rounds:")
    print(line("intake", intake_closed, "calls"))
    print(line("bare view", floor_closed, "req") + "   <- floor")
    print(
        f"  max throughput: intake {intake_closed.rate:.1f} calls/s, ratio intake/bare = "
        f"{intake_closed.rate / floor_closed.rate:.2f} (no target)"
    )
    print(stack.problems())
    print(f"load average now {load_average()}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=60, help="offered calls/s (open loop)")
    parser.add_argument("--seconds", type=float, default=10, help="length of the open-loop run")
    parser.add_argument("--calls", type=int, default=500, help="webhooks in the closed loop")
    parser.add_argument("--concurrency", type=int, default=16, help="closed-loop workers")
    parser.add_argument("--rounds", type=int, default=4, help="closed-loop alternating rounds")
    parser.add_argument("--processes", type=int, default=2, help="Daphne processes")
    args = parser.parse_args()
    with Stack("intake", processes=args.processes) as stack:
        run_async(bench(args, stack))


if __name__ == "__main__":
    main()
