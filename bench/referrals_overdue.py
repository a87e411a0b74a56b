"""How cheap is ``overdue_referrals(now)`` as the referral table grows?

Creates a throw-away test database (``test_<name>`` on PostgreSQL, in-memory on SQLite), fills it
with N referrals (5% unacknowledged and overdue, the rest acknowledged or not yet due), then
times the selector the escalation worker polls and prints the query plan. Stops by itself.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/wt_referrals \
        .venv/bin/python bench/referrals_overdue.py 50000
"""

import os
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402


def main(n: int) -> None:
    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        run(n)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def run(n: int) -> None:
    from directory.models import Organisation, Region
    from hotline.models import Case, Person
    from referrals.models import Referral
    from referrals.selectors import overdue_referrals

    city = Region.objects.create(code="330500", name="湖州市", level="city")
    hotline = Organisation.objects.create(code="h", name="h", kind="hotline_centre", region=city)
    centre = Organisation.objects.create(code="c", name="c", kind="counselling_centre", region=city)
    now = timezone.now()
    people = Person.objects.bulk_create([Person(name=f"p{i}") for i in range(n)])
    cases = Case.objects.bulk_create(
        [Case(person=p, owning_organisation=hotline, stage="intervention") for p in people]
    )
    rows = []
    for i, case in enumerate(cases):
        overdue = i % 20 == 0
        rows.append(
            Referral(
                case=case,
                kind="counselling",
                sender=hotline,
                receiver=centre,
                urgency="moderate",
                state="sent" if overdue or i % 3 == 0 else "completed",
                sent_at=now - timedelta(hours=5),
                ack_due_at=now - timedelta(minutes=i % 60 + 1)
                if overdue
                else now + timedelta(hours=1),
            )
        )
    Referral.objects.bulk_create(rows, batch_size=2000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    qs = overdue_referrals(now)
    found = len(list(qs))
    runs = 50
    start = time.perf_counter()
    for _ in range(runs):
        list(overdue_referrals(now)[:500])
    per_call = (time.perf_counter() - start) / runs * 1000
    print(f"database={connection.vendor} referrals={n} overdue={found}")
    print(f"overdue_referrals(now)[:500]: {per_call:.2f} ms per call (mean of {runs})")
    start = time.perf_counter()
    for _ in range(runs):
        list(overdue_referrals(now).values_list("pk", "ack_due_at")[:500])
    ids_ms = (time.perf_counter() - start) / runs * 1000
    print(f"overdue_referrals(now) ids only [:500]: {ids_ms:.2f} ms per call")
    print("plan:")
    print(qs.explain())


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20000)
