"""10,000 timers due within one minute, two worker processes, PostgreSQL (a bench database).

    .venv/bin/python bench/timers.py            # BENCH_DATABASE_URL to override the database

Prints p50/p99 lateness (fired_at - due_at) and the counts fired, missed and duplicated.
Target: p99 < 1 s, zero missed, zero duplicated. Loopback only; stops by itself.
"""

import os
import statistics
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/wt_escalation_bench")
TIMERS = int(os.environ.get("BENCH_TIMERS", "10000"))
SPREAD = 60.0
LEAD = 5.0
WORKERS = 2


def ensure_database() -> None:
    import psycopg

    base, name = URL.rsplit("/", 1)
    with psycopg.connect(base.replace("postgres://", "postgresql://") + "/postgres") as conn:
        conn.autocommit = True
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def main() -> None:
    ensure_database()
    os.environ["DATABASE_URL"] = URL
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from escalation.models import Timer

    call_command("migrate", verbosity=0)
    Timer.objects.filter(kind=Timer.Kind.PROBE).delete()
    start = timezone.now() + timedelta(seconds=LEAD)
    Timer.objects.bulk_create(
        [
            Timer(
                kind=Timer.Kind.PROBE,
                key=f"bench:{n}",
                due_at=start + timedelta(seconds=SPREAD * n / TIMERS),
            )
            for n in range(TIMERS)
        ],
        batch_size=2000,
    )
    print(f"{TIMERS} timers due between +{LEAD:.0f}s and +{LEAD + SPREAD:.0f}s; {WORKERS} workers")
    env = {**os.environ, "ESCALATION_SOURCES_POLL": "3600"}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "escalation_worker",
                "--max-seconds",
                str(LEAD + SPREAD + 10),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        for _ in range(WORKERS)
    ]
    for proc in procs:
        proc.wait()
    probes = Timer.objects.filter(kind=Timer.Kind.PROBE)
    fired = list(probes.filter(fired_at__isnull=False).values_list("due_at", "fired_at"))
    late = sorted((f - d).total_seconds() for d, f in fired)
    missed = probes.filter(fired_at__isnull=True).count()
    duplicated = probes.filter(fire_count__gt=1).count()
    by_worker = sorted(set(probes.values_list("fired_by", flat=True).distinct()) - {""})
    p50 = statistics.median(late) if late else float("nan")
    p99 = late[int(len(late) * 0.99) - 1] if late else float("nan")
    print(
        f"fired={len(fired)} missed={missed} duplicated={duplicated} workers_seen={len(by_worker)}"
    )
    print(f"lateness p50={p50 * 1000:.0f} ms p99={p99 * 1000:.0f} ms max={late[-1] * 1000:.0f} ms")
    ok = p99 < 1.0 and missed == 0 and duplicated == 0
    print("target met" if ok else "target NOT met")
    Timer.objects.filter(kind=Timer.Kind.PROBE).delete()


if __name__ == "__main__":
    main()
