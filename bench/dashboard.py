"""How fast are the one-screen view's queries on five years of history?

Generates, with set-based SQL (``INSERT ... SELECT ... FROM generate_series``), a Huzhou-shaped
history into a PostgreSQL database of its own: N cases (one person each, the five
districts/counties in the city's population mix), ~3 calls, ~4 stage visits and ~10 events per
case, referrals, follow-ups, dispatches with legs, a few open alerts; builds the daily rollup;
then times every dashboard selector (``dashboard.selectors.TABLES``) and prints p50/p95.

    .venv/bin/python bench/dashboard.py --cases 10000               # 10k cases
    .venv/bin/python bench/dashboard.py --cases 1000000             # the full size
    .venv/bin/python bench/dashboard.py --cases 1000000 --reuse     # time again, no regeneration
    .venv/bin/python bench/dashboard.py --cases 10000 --history-of 1000000  # same rate, 9 days
    .venv/bin/python bench/dashboard.py --cases 1000000 --reuse --against small.json  # ratios

``--history-of M`` generates only the newest N cases of the M-case five-year history: the same
city at the same daily rate (the same calls waiting, the same open dispatches), with days
instead of years behind it. Comparing it with M isolates what history costs; ``--cases 10000``
alone is a city with 1/100 of the activity.

Before timing, the rollup is refreshed as the escalation worker leaves it (closed days, then
today up to ``DASHBOARD_ROLLUP_EVERY`` seconds ago). ``--save PATH`` writes the p50/p95 per
query; ``--against PATH`` (a ``--save`` of a smaller run) prints each p95 as a multiple of it.

The database is ``BENCH_DATABASE_URL`` (default
``postgres://postgres@127.0.0.1:5432/wt_dashboard_bench_<N>``, ``..._<N>_of_<M>`` with
``--history-of``); it is dropped and recreated unless ``--reuse``. Loopback only; stops by
itself.
"""

import argparse
import json
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# Huzhou's districts/counties, weighted by resident population (2020 census, rounded %).
DISTRICT_WEIGHTS = {"330502": 24, "330503": 16, "330521": 19, "330522": 23, "330523": 18}
# Calls by hour of day (Asia/Shanghai): quiet nights, an evening peak.
HOUR_WEIGHTS = [2, 1, 1, 1, 1, 1, 2, 3, 4, 5, 5, 5, 5, 5, 5, 5, 5, 6, 7, 8, 9, 9, 7, 4]


def parse():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--cases", type=int, default=10_000)
    p.add_argument("--runs", type=int, default=30, help="timed runs per query")
    p.add_argument("--reuse", action="store_true", help="keep the generated database")
    p.add_argument(
        "--history-of",
        type=int,
        metavar="M",
        help="generate the newest N cases of an M-case five-year history (same daily rate)",
    )
    p.add_argument("--save", metavar="PATH", help="write the p50/p95 per query as JSON")
    p.add_argument(
        "--against",
        metavar="PATH",
        action="append",
        default=[],
        help="a --save of a smaller run: print each query's p95 as a multiple of its p95 there "
        "(repeatable)",
    )
    args = p.parse_args()
    if args.history_of is not None and args.history_of < args.cases:
        p.error("--history-of must be at least --cases")
    return args


def prepare_database(url: str, reuse: bool) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and reuse:
            return
        if exists:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def insert_select(model, exprs: dict[str, str], source: str, params=()) -> int:
    """INSERT INTO model's table SELECT exprs FROM source; other columns get their defaults."""
    from django.db import connection

    cols, values, args = [], [], []
    for f in model._meta.concrete_fields:
        if f.column in exprs:
            cols.append(f.column)
            values.append(exprs[f.column])
        elif f.primary_key or f.null:
            continue
        elif f.has_default():
            cols.append(f.column)
            values.append("%s")
            args.append(f.get_db_prep_save(f.get_default(), connection))
        elif f.blank:
            cols.append(f.column)
            values.append("''")
        else:
            raise ValueError(f"{model.__name__}.{f.name} needs a value")
    sql = (
        f"INSERT INTO {model._meta.db_table} ({', '.join(cols)}) "
        f"SELECT {', '.join(values)} FROM {source}"
    )
    with connection.cursor() as cur:
        cur.execute(sql, [*args, *params])
        return cur.rowcount


def step(label: str, fn, *args, **kwargs):
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    took = time.perf_counter() - started
    print(f"  {label}: {'' if result is None else result} in {took:.1f} s", flush=True)
    return result


def generate(n: int, history_of: int | None = None) -> None:
    from django.core.management import call_command
    from django.db import connection

    from clinics.models import FollowUp
    from directory.models import Organisation, Region
    from escalation.models import Alert, Dispatch, DispatchLeg
    from hotline.models import Call, Case, Person, StageVisit
    from realtime.models import Event
    from referrals.models import Referral

    call_command("seed_demo", verbosity=0)
    org = {o.code: o.pk for o in Organisation.objects.all()}
    kinds = {}
    for o in Organisation.objects.all():
        kinds.setdefault(o.kind, []).append(o.pk)
    villages = []
    for code, weight in DISTRICT_WEIGHTS.items():
        district = Region.objects.get(code=code)
        ids = list(
            Region.objects.filter(path__startswith=district.path, level="village").values_list(
                "pk", flat=True
            )
        )
        villages += [ids[i % len(ids)] for i in range(weight)]
    hours = [h for h, w in enumerate(HOUR_WEIGHTS) for _ in range(w)]
    with connection.cursor() as cur:
        cur.execute("SELECT setseed(0.42)")
        cur.execute("SELECT coalesce(max(id), 0) FROM hotline_person")
        p0 = cur.fetchone()[0] + 1000
        cur.execute("SELECT coalesce(max(id), 0) FROM hotline_case")
        c0 = cur.fetchone()[0] + 1000
        cur.execute("SET work_mem = '256MB'")
        cur.execute("SET synchronous_commit = off")
    hotline = org["hotline-centre"]
    centres = [org["counselling-centre"], org["third-hospital"]]
    village_array = "ARRAY[" + ",".join(map(str, villages)) + "]"
    hour_array = "ARRAY[" + ",".join(map(str, hours)) + "]"
    span = "interval '1826 days'"
    # The newest n of `history_of` cases: the same five-year curve, cut to its last days.
    newest = n / (history_of or n)
    step(
        "people",
        insert_select,
        Person,
        {
            "id": f"{p0} + i",
            "is_anonymous": "random() < 0.2",
            "home_region_id": f"({village_array})[1 + floor(random() * {len(villages)})::int]",
            "created_at": "now()",
            "updated_at": "now()",
        },
        "generate_series(1, %s) i",
        [n],
    )
    step(
        "cases",
        insert_select,
        Case,
        {
            "id": f"{c0} + i",
            "person_id": f"{p0} + i",
            "opened_at": "opened",
            "stage_entered_at": "opened",
            "stage": (
                "CASE WHEN opened > now() - interval '60 days' AND r3 < 0.7 "
                "OR r3 < 0.004 THEN (ARRAY['discovery','intervention','treatment','follow_up'])"
                "[1 + floor(r2 * 4)::int] ELSE 'closed' END"
            ),
            "risk": (
                "CASE WHEN r1 < 0.3 THEN 'none' WHEN r1 < 0.6 THEN 'low' WHEN r1 < 0.85 "
                "THEN 'moderate' WHEN r1 < 0.97 THEN 'high' ELSE 'imminent' END"
            ),
            "owning_organisation_id": (
                f"CASE WHEN r2 < 0.8 THEN {hotline} WHEN r2 < 0.95 THEN {centres[0]} "
                f"ELSE {centres[1]} END"
            ),
        },
        # Cases: denser towards now (a growing service); open if recent, rarely if old.
        # Ids follow time, as they do in production: the open (recent) cases sit together.
        "(SELECT row_number() OVER (ORDER BY opened) AS i, opened, r1, r2, r3 FROM "
        "(SELECT now() - " + span + " * (1 - sqrt(1 - %s * (1 - random()))) AS opened, "
        "random() AS r1, random() AS r2, random() AS r3 FROM generate_series(1, %s)) g) s",
        [newest, n],
    )
    open_stage = "ARRAY['discovery','intervention','treatment','follow_up']"
    with connection.cursor() as cur:
        # One pass: closed cases' closing time, and every case's district (Case.district).
        cur.execute(
            "UPDATE hotline_case c SET closed_at = CASE WHEN c.stage = 'closed' "
            "THEN c.opened_at + interval '30 days' END, district_id = d.id "
            "FROM hotline_person p JOIN directory_region h ON h.id = p.home_region_id "
            "JOIN directory_region d ON d.level = 'district' "
            "AND substr(h.path, 1, length(d.path)) = d.path "
            "WHERE p.id = c.person_id AND c.id >= %s",
            [c0],
        )
    # Per case a pseudo-random step (2 h .. 4 days): stays in stage k last k x step.
    case_step = "interval '1 hour' * (2 + mod(c.id * 2654435761, 97))"
    step(
        "stage visits",
        insert_select,
        StageVisit,
        {
            "case_id": "c.id",
            "stage": f"({open_stage})[k]",
            "entered_at": f"c.opened_at + {case_step} * ((k - 1) * k / 2)",
            "left_at": (
                f"CASE WHEN c.stage <> 'closed' AND ({open_stage})[k] = c.stage THEN NULL "
                f"ELSE c.opened_at + {case_step} * (k * (k + 1) / 2) END"
            ),
        },
        f"hotline_case c CROSS JOIN generate_series(1, 4) k WHERE c.id >= %s AND "
        f"(c.stage = 'closed' OR k <= array_position({open_stage}, c.stage::text))",
        [c0],
    )
    # Calls: ~3 per case within a month of opening; 2% of people call 5 more times in a week.
    call_time = (
        f"(date_trunc('day', c.opened_at) "
        f"+ interval '1 day' * floor(random() * 30 * (k - 1)) "
        f"+ interval '1 hour' * ({hour_array})[1 + floor(random() * {len(hours)})::int] "
        f"+ interval '1 minute' * floor(random() * 60))"
    )
    call_exprs = {
        "call_sid": "'B' || c.id || '-' || k",
        "hotline_id": str(hotline),
        "status": "CASE WHEN random() < 0.1 THEN 'abandoned' ELSE 'completed' END",
        "person_id": "c.person_id",
        "case_id": "c.id",
        "queued_at": call_time,
        "rank_at": "c.opened_at",  # only the queue reads it, and these calls are over
    }
    step(
        "calls",
        insert_select,
        Call,
        call_exprs,
        "hotline_case c CROSS JOIN generate_series(1, 3) k WHERE c.id >= %s",
        [c0],
    )
    step(
        "repeat calls",
        insert_select,
        Call,
        {
            **call_exprs,
            "call_sid": "'R' || c.id || '-' || k",
            "queued_at": ("c.opened_at + interval '1 hour' * k * 20"),
        },
        "hotline_case c CROSS JOIN generate_series(1, 5) k WHERE c.id >= %s "
        "AND mod(c.id * 7919, 100) < 2",
        [c0],
    )
    # A few calls in the queue and on the line now.
    step(
        "live calls",
        insert_select,
        Call,
        {
            "call_sid": "'L' || k",
            "hotline_id": str(hotline),
            "status": "CASE WHEN k <= 4 THEN 'queued' ELSE 'in_progress' END",
            "queued_at": "now() - interval '1 second' * k * 20",
            "rank_at": "now() - interval '1 second' * k * 20",
        },
        "generate_series(1, 7) k",
    )
    # Referrals: 40% of cases; open cases' referrals are 10% unacknowledged (some overdue).
    step(
        "referrals",
        insert_select,
        Referral,
        {
            "case_id": "c.id",
            "kind": "'counselling'",
            "sender_id": str(hotline),
            "receiver_id": f"CASE WHEN mod(c.id, 5) = 0 THEN {centres[1]} ELSE {centres[0]} END",
            "urgency": "c.risk",
            "sent_at": "c.opened_at + interval '10 minutes'",
            "ack_due_at": (
                "c.opened_at + interval '10 minutes' + CASE WHEN c.risk IN ('high', 'imminent') "
                "THEN interval '15 minutes' WHEN c.risk = 'moderate' THEN interval '4 hours' "
                "ELSE interval '2 days' END"
            ),
            "state": (
                "CASE WHEN c.stage = 'closed' THEN 'completed' WHEN mod(c.id, 10) = 0 "
                "THEN 'sent' ELSE 'acknowledged' END"
            ),
            "acknowledged_at": (
                "CASE WHEN c.stage <> 'closed' AND mod(c.id, 10) = 0 THEN NULL ELSE "
                "c.opened_at + interval '10 minutes' + interval '1 minute' * "
                "(1 + floor(-ln(1 - random()) * 90)) END"
            ),
            "consent": "true",
        },
        "hotline_case c WHERE c.id >= %s AND mod(c.id * 31, 10) < 4",
        [c0],
    )
    step(
        "follow-ups",
        insert_select,
        FollowUp,
        {
            "case_id": "c.id",
            "organisation_id": str(hotline),
            "reason": "'resolved_call'",
            "due_at": "c.opened_at + interval '2 days'",
            "state": (
                "CASE WHEN c.stage <> 'closed' THEN 'scheduled' WHEN mod(c.id, 20) = 0 "
                "THEN 'lost' ELSE 'done' END"
            ),
            "done_at": (
                "CASE WHEN c.stage <> 'closed' THEN NULL ELSE c.opened_at + interval '3 days' END"
            ),
        },
        "hotline_case c WHERE c.id >= %s AND mod(c.id * 17, 10) < 5",
        [c0],
    )
    step(
        "dispatches",
        insert_select,
        Dispatch,
        {
            "case_id": "c.id",
            "status": (
                "CASE WHEN c.stage <> 'closed' AND c.opened_at > now() - interval '2 days' "
                "THEN 'open' ELSE 'closed' END"
            ),
            "created_at": "c.opened_at + interval '5 minutes'",
            "region_id": "p.home_region_id",
        },
        "hotline_case c JOIN hotline_person p ON p.id = c.person_id "
        "WHERE c.id >= %s AND c.risk = 'imminent'",
        [c0],
    )
    responders = [
        ("police", kinds.get("police", [hotline])[0]),
        ("ambulance", org.get("ambulance-120", hotline)),
        ("community", kinds.get("community", [hotline])[0]),
        ("expert", org.get("expert-pool", hotline)),
    ]
    kind_array = "ARRAY[" + ",".join(f"'{k}'" for k, _ in responders) + "]"
    org_array = "ARRAY[" + ",".join(str(o) for _, o in responders) + "]"
    step(
        "dispatch legs",
        insert_select,
        DispatchLeg,
        {
            "dispatch_id": "d.id",
            "kind": f"({kind_array})[k]",
            "organisation_id": f"({org_array})[k]",
            "state": "CASE WHEN d.status = 'open' AND k > 2 THEN 'notified' "
            "WHEN d.status = 'open' THEN 'acknowledged' ELSE 'done' END",
            "short_code": "lpad(to_hex(d.id * 4 + k), 8, '0')",
            "notified_at": "d.created_at",
            "ack_deadline": "CASE WHEN d.status = 'open' THEN now() + interval '45 seconds' "
            "ELSE d.created_at + interval '1 minute' END",
            "state_changed_at": "d.created_at",
        },
        "escalation_dispatch d CROSS JOIN generate_series(1, 4) k",
    )
    step(
        "alerts",
        insert_select,
        Alert,
        {
            "dedup_key": "'bench:' || k",
            "kind": "'referral_overdue'",
            "title": "'bench alert'",
            "severity": "(ARRAY['info','warning','critical','life_safety'])[1 + mod(k, 4)]",
            "state": "CASE WHEN k <= 30 THEN 'open' WHEN k <= 60 THEN 'acknowledged' "
            "ELSE 'resolved' END",
            "short_code": "'A' || lpad(to_hex(k), 7, '0')",
            "raised_at": "now() - interval '1 hour' * k",
            "assigned_organisation_id": f"CASE WHEN mod(k, 3) = 0 THEN {centres[0]} END",
            "assignment_due": "now() - interval '1 hour' * (k - 20)",
        },
        "generate_series(1, %s) k",
        [max(100, n // 100)],
    )
    # Events in time order, as the log is written: ~10 per case.
    event_types = [
        "case.opened",
        "call.queued",
        "call.accepted",
        "call.triaged",
        "case.stage_changed",
        "referral.sent",
        "referral.acknowledged",
        "follow_up.scheduled",
        "follow_up.attempted",
        "case.read",
    ]
    types = "ARRAY[" + ",".join(f"'{t}'" for t in event_types) + "]"
    step(
        "events",
        insert_select,
        Event,
        {
            "type": f"({types})[k]",
            "at": "e.at",
            "case_id": "e.case_id",
            "data": "'{}'::jsonb",
        },
        f"(SELECT ({types})[k] AS t, k, c.id AS case_id, c.opened_at + "
        f"{case_step} * (k - 1) / 3 AS at FROM hotline_case c CROSS JOIN "
        f"generate_series(1, 10) k WHERE c.id >= %s ORDER BY 4) e",
        [c0],
    )
    # What would lie in the future has not happened yet (clamping it to now piles it on today).
    with connection.cursor() as cur:
        cur.execute("DELETE FROM hotline_call WHERE queued_at > now() AND call_sid NOT LIKE 'L%%'")
        cur.execute("UPDATE hotline_stagevisit SET left_at = NULL WHERE left_at > now()")
        cur.execute("DELETE FROM realtime_event WHERE at > now() AND case_id >= %s", [c0])
        for table in ("hotline_person", "hotline_case", "escalation_dispatch"):
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def time_queries(runs: int) -> dict[str, dict[str, list[float]]]:
    """Time every table as a page asks for them (one shared live tail); returns, per scenario,
    ``{query: [p50, p95]}``."""
    from django.db import reset_queries
    from django.utils import timezone

    from dashboard import rollup, selectors
    from directory.models import Region

    district = Region.objects.get(code="330522")
    scenarios = {
        "12 months": {},
        "12 months, 长兴县, high risk": {"district": district.code, "risk": "high"},
    }
    figures: dict[str, dict[str, list[float]]] = {}
    for name, params in scenarios.items():
        print(f"\n{name}: ms per query over {runs} runs (p50 / p95 / max)")
        filters = selectors.parse_filters(params)
        results: dict[str, list[float]] = {TAIL: [], **{k: [] for k in selectors.TABLES}}
        results[PAGE] = []
        for i in range(runs + 2):
            now = timezone.now()
            rollup.clear_tail_cache()
            started_all = time.perf_counter()
            rollup.tail_rows(now)  # once per page, shared by the period tables
            if i >= 2:
                results[TAIL].append((time.perf_counter() - started_all) * 1000)
            for key, fn in selectors.TABLES.items():
                started = time.perf_counter()
                fn(filters, now)
                if i >= 2:
                    results[key].append((time.perf_counter() - started) * 1000)
            if i >= 2:
                results[PAGE].append((time.perf_counter() - started_all) * 1000)
            reset_queries()
        figures[name] = {}
        for key, values in results.items():
            p50, p95 = statistics.median(values), percentile(values, 0.95)
            figures[name][key] = [round(p50, 1), round(p95, 1)]
            print(f"  {key:28s} {p50:8.1f} {p95:8.1f} {max(values):8.1f}")
    return figures


TAIL = "live tail (once per page)"
PAGE = "whole page (15 tables)"


def time_whole_day_tail(runs: int) -> None:
    """What a page pays for the live tail if the worker's intraday refresh has not run today."""
    from django.utils import timezone

    from dashboard import rollup

    through, _until = rollup.coverage()
    if through is None:
        return
    values = []
    for _ in range(runs):
        started = time.perf_counter()
        rollup._tail_rows(timezone.now(), through, rollup.day_start(through + timedelta(days=1)))
        values.append((time.perf_counter() - started) * 1000)
    print(
        f"\n(without the intraday refresh the live tail is today's whole day so far: "
        f"p50 {statistics.median(values):.1f} / p95 {percentile(values, 0.95):.1f} ms)"
    )


def compare(figures: dict, path: str) -> None:
    """Each query's p95 here as a multiple of its p95 in the smaller run saved at ``path``."""
    base = json.loads(Path(path).read_text())
    print(f"\np95 here / p95 in {path} (target: at most 3x)")
    for scenario, rows in figures.items():
        print(f"  {scenario}")
        for key, (_p50, p95) in rows.items():
            before = base.get("figures", {}).get(scenario, {}).get(key)
            if before:
                ratio = p95 / max(before[1], 0.1)
                flag = "" if ratio <= 3 else "  > 3x"
                print(f"    {key:28s} {before[1]:8.1f} -> {p95:8.1f}  {ratio:5.1f}x{flag}")


def main() -> None:
    args = parse()
    name = f"wt_dashboard_bench_{args.cases}"
    if args.history_of and args.history_of != args.cases:
        name += f"_of_{args.history_of}"
    url = os.environ.get("BENCH_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{name}")
    prepare_database(url, args.reuse)
    os.environ["DATABASE_URL"] = url
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["ESCALATION_WORKER_IN_PROCESS"] = "0"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from dashboard import rollup

    call_command("migrate", verbosity=0)
    if not args.reuse:
        print(f"generating {args.cases} cases into {url}", flush=True)
        started = time.perf_counter()
        generate(args.cases, args.history_of)
        print(f"generated in {time.perf_counter() - started:.0f} s", flush=True)
        step("rollup rebuild (rows)", rollup.rebuild)
        with connection.cursor() as cur:
            step("vacuum analyze", cur.execute, "VACUUM ANALYZE")
    # As the escalation worker leaves it: the closed days stored, and today up to its last run,
    # taken as DASHBOARD_ROLLUP_EVERY ago (the longest live tail a page meets).
    step("rollup refresh, closed days (rows)", rollup.refresh)
    step(
        "rollup refresh, today so far (rows)",
        rollup.refresh_today,
        timezone.now() - timedelta(seconds=settings.DASHBOARD_ROLLUP_EVERY),
    )
    through, until = rollup.coverage()
    print(f"  rollup: whole days through {through}, today stored until {until:%H:%M:%S %Z}")
    with connection.cursor() as cur:
        cur.execute(
            "SELECT (SELECT count(*) FROM hotline_case), (SELECT count(*) FROM hotline_call), "
            "(SELECT count(*) FROM realtime_event), (SELECT count(*) FROM hotline_stagevisit), "
            "(SELECT count(*) FROM referrals_referral), "
            "(SELECT count(*) FROM dashboard_dailycount), "
            "(SELECT count(*) FROM hotline_case WHERE stage <> 'closed'), "
            "(SELECT count(*) FROM hotline_case WHERE opened_at > now() - interval '1 day'), "
            "(SELECT extract(day FROM now() - min(opened_at)) FROM hotline_case)"
        )
        counts = cur.fetchone()
    print(
        "rows: cases {:,} calls {:,} events {:,} stage visits {:,} referrals {:,} rollup {:,}"
        " open cases {:,}; cases opened in the last 24 h {:,}, history {:.0f} days".format(*counts)
    )
    figures = time_queries(args.runs)
    time_whole_day_tail(min(args.runs, 5))
    if args.save:
        Path(args.save).write_text(
            json.dumps({"database": name, "counts": list(map(float, counts)), "figures": figures})
        )
    for path in args.against:
        compare(figures, path)


if __name__ == "__main__":
    main()
