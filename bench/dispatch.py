"""One-key dispatch benchmark: from the POST to every leg's SMS and voice call at the gateway.

Starts, on a fresh PostgreSQL database of its own (created, migrated and seeded here), the server
as production runs it (``manage.py serve`` with ``ESCALATION_WORKER_IN_PROCESS=0``) and one
``manage.py escalation_worker`` beside it, both on loopback. No Twilio account is configured, so
the recording console gateway takes the messages: the worker marks each ``OutboundMessage`` sent
(``sent_at``) when the gateway has it.

The client presses one key for ``--dispatches`` cases at ``--rate`` per second
(``POST /api/v1/dispatches/`` as operator1, token auth). A dispatch counts as out when every one
of its messages is sent and every leg with a phone has both an SMS and a voice call; its latency
is the last ``sent_at`` minus the moment just before its POST was written (one machine, one clock).

Prints p50/p99/max of that latency and of the POST's own answer, the target (p99 < 1 s), PASS or
FAIL, and the load average. Stops by itself (``--timeout``) and stops the servers it started.

    .venv/bin/python bench/dispatch.py [--dispatches 20] [--rate 5]

Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/wt_dispatch_bench),
dropped and created anew. REDIS_URL and CHANNEL_PREFIX pass through to the server if set.
"""

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
TARGET_P99 = 1.0
VILLAGE = "330502001001"  # 月河社区: police, ambulance and community legs all resolve from it
EXPERT_PHONE = "+8613900009999"  # the demo expert has none; give the expert leg a number too


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(env: dict, dispatches: int) -> tuple[str, list[int]]:
    """A fresh database, the demo seed, ``dispatches`` open cases; operator1's API token."""
    url = env["DATABASE_URL"]
    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    subprocess.run(
        ["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=True
    )
    subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {name}"], check=True)
    py = sys.executable
    subprocess.run([py, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run(
        [py, "manage.py", "seed_demo"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    out = subprocess.run(
        [py, "-c", SETUP, str(dispatches)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    data = json.loads(out.stdout.strip().splitlines()[-1])
    return data["token"], data["cases"]


# Run in a child process with the bench database's settings: cases through the hotline services.
SETUP = f"""
import json, os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django
django.setup()
from knox.models import AuthToken
from directory.models import Organisation, Region, User
from hotline import services
n = int(sys.argv[1])
operator = User.objects.get(username="operator1")
expert = User.objects.get(username="expert1")
expert.phone = "{EXPERT_PHONE}"
expert.save(update_fields=["phone"])
hotline = Organisation.objects.get(code="hotline-centre")
village = Region.objects.get(code="{VILLAGE}")
cases = []
for i in range(n):
    person = services.create_person(
        operator, name=f"压测{{i}}", phone=f"+86139{{i:08d}}", home_region=village
    )
    case = services.open_case(operator, person=person, owning_organisation=hotline, risk="high")
    cases.append(case.pk)
_instance, token = AuthToken.objects.create(user=operator)
print(json.dumps({{"token": token, "cases": cases}}))
"""


def wait_up(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not start")


def press(port: int, token: str, case: int, results: dict, lock: threading.Lock) -> None:
    body = json.dumps({"case": case}).encode()
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    started = time.time()
    conn.request("POST", "/api/v1/dispatches/", body, headers)
    response = conn.getresponse()
    answered = time.time()
    payload = response.read()
    conn.close()
    with lock:
        if response.status == 201:
            results[json.loads(payload)["id"]] = (started, answered - started)
        else:
            results[f"error:{case}"] = (response.status, payload[:200])


QUERY = """
SELECT d.id,
       count(m.id),
       count(m.id) FILTER (WHERE m.status = 'sent'),
       max(m.sent_at),
       (SELECT count(*) FROM escalation_dispatchleg l WHERE l.dispatch_id = d.id),
       (SELECT count(DISTINCT l.id) FROM escalation_dispatchleg l
          JOIN escalation_outboundmessage s ON s.leg_id = l.id AND s.channel = 'sms'
          JOIN escalation_outboundmessage v ON v.leg_id = l.id AND v.channel = 'voice'
         WHERE l.dispatch_id = d.id)
  FROM escalation_dispatch d
  LEFT JOIN escalation_outboundmessage m ON m.dispatch_id = d.id
 WHERE d.id = ANY(%s)
 GROUP BY d.id
"""


def collect(db_url: str, ids: list[int], deadline: float) -> dict:
    """Poll until every dispatch's messages are sent (or the deadline): id -> (last sent_at, ..)."""
    done: dict = {}
    with psycopg.connect(db_url.replace("postgres://", "postgresql://")) as conn:
        conn.autocommit = True
        while time.monotonic() < deadline:
            for row in conn.execute(QUERY, [ids]).fetchall():
                pk, total, sent, last, legs, legs_both = row
                if total and sent == total and legs_both == legs:
                    done[pk] = (last.timestamp(), total, legs)
            if len(done) == len(ids):
                break
            time.sleep(0.25)
    return done


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dispatches", type=int, default=20)
    parser.add_argument("--rate", type=float, default=5.0, help="one-key presses per second")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds after the last press")
    args = parser.parse_args()
    db_url = os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/wt_dispatch_bench"
    )
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "LOG_LEVEL": "WARNING",
        "ESCALATION_WORKER_IN_PROCESS": "0",
        # No acknowledgement deadline passes during the run: only the dispatches' own messages.
        "ESCALATION_ACK_SECONDS": "3600",
        # The console gateway: no Twilio account, nothing leaves the machine.
        "TWILIO_ACCOUNT_SID": "",
        "TWILIO_AUTH_TOKEN": "",
    }
    print(f"preparing {db_url.rsplit('/', 1)[1]} with {args.dispatches} open cases ...")
    token, cases = prepare(env, args.dispatches)
    port = free_port()
    py = sys.executable
    run_for = args.dispatches / args.rate + args.timeout + 30
    server = subprocess.Popen(
        [py, "manage.py", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    worker = subprocess.Popen(
        [py, "manage.py", "escalation_worker", "--max-seconds", str(run_for)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_up(port, time.monotonic() + 60)
        results: dict = {}
        lock = threading.Lock()
        threads = []
        t0 = time.monotonic()
        for n, case in enumerate(cases):
            delay = t0 + n / args.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            thread = threading.Thread(target=press, args=(port, token, case, results, lock))
            thread.start()
            threads.append(thread)
        for thread in threads:
            thread.join(timeout=60)
        errors = {k: v for k, v in results.items() if isinstance(k, str)}
        pressed = {k: v for k, v in results.items() if isinstance(k, int)}
        done = collect(db_url, list(pressed), time.monotonic() + args.timeout)
    finally:
        for process in (server, worker):
            process.terminate()
        for process in (server, worker):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
    load = os.getloadavg()
    latencies = [done[pk][0] - pressed[pk][0] for pk in done]
    answers = [pressed[pk][1] for pk in pressed]
    messages = sum(v[1] for v in done.values())
    legs = sum(v[2] for v in done.values())
    print(
        f"{len(pressed)} dispatches at {args.rate:g}/s ({len(errors)} refused, "
        f"{len(pressed) - len(done)} not fully out); {legs} legs, {messages} messages"
    )
    for key, value in list(errors.items())[:3]:
        print(f"  refused {key}: {value}")
    if answers:
        print(
            f"POST answered:              p50 {statistics.median(answers) * 1000:6.0f} ms  "
            f"p99 {percentile(answers, 0.99) * 1000:6.0f} ms"
        )
    ok = bool(latencies) and not errors and len(done) == len(pressed) == len(cases)
    p99 = percentile(latencies, 0.99) if latencies else float("inf")
    if latencies:
        print(
            f"POST -> all SMS+calls sent: p50 {statistics.median(latencies) * 1000:6.0f} ms  "
            f"p99 {p99 * 1000:6.0f} ms  max {max(latencies) * 1000:6.0f} ms"
        )
    ok = ok and p99 < TARGET_P99
    print(f"target: p99 < {TARGET_P99 * 1000:.0f} ms -> {'PASS' if ok else 'FAIL'}")
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, {os.cpu_count()} cores")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
