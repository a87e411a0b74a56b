"""The daily rollup behind the dashboard's trends, medians and period counts.

Closed days never change, so each is counted once (``refresh``) and the dashboard sums at most
a few thousand rollup rows instead of millions of calls. The worker also stores today so far
(``refresh_today``, every ``DASHBOARD_ROLLUP_EVERY``), so what is counted live for each page is
the few minutes after that (``RollupMark.until``), not the whole day; whatever the refreshes
have not stored is counted live by the same builder, so the figures are right whether or not
they ran. Durations (time in stage, time to acknowledge) are kept as counts per
geometric bucket (x1.25 wide), from which the median is read to within about 12%.

Rows are built with the ORM so the same code runs on SQLite and PostgreSQL.
"""

import math
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, timedelta
from itertools import chain
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, CharField, Count, F, Func, IntegerField, Q, Sum, Value, When
from django.db.models.functions import (
    Coalesce,
    ExtractHour,
    ExtractIsoWeekDay,
    TruncDate,
)
from django.utils import timezone

from dashboard.models import DailyCount, RollupMark

MARK = "daily"
# Calls whose person, case and risk may still be set (``refresh_today`` stops before them).
LIVE_CALL_STATUSES = ("queued", "offered", "in_progress", "wrap_up")
LOCAL = ZoneInfo("Asia/Shanghai")
# A district's path is the city's and the district's six-digit GB/T 2260 codes: "330500/330502/".
DISTRICT_PATH_LENGTH = 14
# Rows are split by the district a case keeps (Case.district, the one rule ``Region.district``).
CASE_DISTRICT = "case__district__path"

CALLS = "calls"
CALL_HOURS = "call_hours"
CASES_OPENED = "cases_opened"
DISPATCHES = "dispatches"
STAGE_EXIT = "stage_exit"
REFERRAL_ACK = "referral_ack"
FOLLOW_UP_LOST = "follow_up_lost"
REPEAT_CALLERS = "repeat_callers"
# These are also summed per calendar month (metric + MONTHLY, on the month's first day), so a
# year's median or hour pattern reads about twelve rows per group instead of 365.
MONTHLY = "@m"
MONTHLY_METRICS = (CALL_HOURS, STAGE_EXIT, REFERRAL_ACK)
# The same for the month so far: the first day of the mark's month through the mark, on the
# month's first day, rewritten at each refresh (``RollupMark.month_to_date`` says it is there).
MONTH_TO_DATE = "@mtd"


def _bounds() -> list[int]:
    """Upper bounds in minutes of the duration buckets: 1, 2, 3, 4, 5, 7, 9 ... past two years."""
    bounds = [1]
    while bounds[-1] < 2 * 365 * 1440:
        bounds.append(max(bounds[-1] + 1, math.ceil(bounds[-1] * 1.25)))
    return bounds


BUCKET_BOUNDS = _bounds()


def bucket_range(bucket: int) -> tuple[float, float]:
    """Minutes ``[low, high)`` of a bucket (the last one is open-ended; its high is a guess)."""
    low = 0 if bucket == 0 else BUCKET_BOUNDS[bucket - 1]
    high = BUCKET_BOUNDS[bucket] if bucket < len(BUCKET_BOUNDS) else low * 1.25
    return float(low), float(high)


def median_minutes(histogram: dict[int, int]) -> float | None:
    """The median of a bucket histogram, interpolated linearly inside its bucket."""
    total = sum(histogram.values())
    if not total:
        return None
    half = total / 2
    seen = 0
    for bucket in sorted(histogram):
        count = histogram[bucket]
        if seen + count >= half:
            low, high = bucket_range(bucket)
            return low + (high - low) * ((half - seen) / count)
        seen += count
    return None  # pragma: no cover - the loop always returns


def _bucket(start: str, end: str) -> Func:
    """The duration bucket of ``end - start``: the number of bounds at or below it."""
    if connection.vendor == "postgresql":
        # One builtin call per row; the portable CASE below is slow to compile and to run.
        bounds = ",".join(str(b) for b in BUCKET_BOUNDS)
        return Func(
            F(end),
            F(start),
            arg_joiner=" - ",
            template=(
                f"width_bucket(EXTRACT(EPOCH FROM (%(expressions)s)) / 60.0, "
                f"ARRAY[{bounds}]::float8[])"
            ),
            output_field=IntegerField(),
        )
    return Case(
        *[
            When(**{f"{end}__lt": F(start) + timedelta(minutes=b)}, then=Value(i))
            for i, b in enumerate(BUCKET_BOUNDS)
        ],
        default=Value(len(BUCKET_BOUNDS)),
        output_field=IntegerField(),
    )


def _district(path: str) -> Coalesce:
    return Coalesce(F(path), Value(""), output_field=CharField())


def local_day(moment: datetime) -> date:
    return timezone.localtime(moment, LOCAL).date()


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=LOCAL)


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def month_end(day: date) -> date:
    """The last day of ``day``'s calendar month."""
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def _daily(qs, moment: str, district: str, organisation: str, risk: str, **extra) -> Iterable:
    return (
        qs.annotate(
            d_day=TruncDate(moment, tzinfo=LOCAL),
            d_district=_district(district),
            d_org=Coalesce(F(organisation), Value(0)),
            d_risk=Coalesce(F(risk), Value(""), output_field=CharField()) if risk else Value(""),
            **extra,
        )
        .values("d_day", "d_district", "d_org", "d_risk", *extra)
        .annotate(n=Count("pk"))
        .order_by()
    )


def build_rows(start: datetime, end: datetime, *, stream: bool = True) -> Iterator[DailyCount]:
    """Daily rollup rows of what happened from ``start`` to before ``end`` (repeat callers are
    per week: ``repeat_caller_rows``). ``stream`` reads years through a server-side cursor; a
    page's few minutes are read in one round trip."""
    from clinics.models import FollowUp, FollowUpState
    from escalation.models import Dispatch
    from hotline.models import Call, StageVisit
    from hotline.models import Case as CaseFile
    from referrals.models import Referral

    def rows(metric: str, found: Iterable, key=lambda r: "") -> Iterator[DailyCount]:
        for r in found.iterator(chunk_size=10000) if stream else found:
            yield DailyCount(
                day=r["d_day"],
                metric=metric,
                district=r["d_district"],
                organisation=r["d_org"] or 0,
                risk=r["d_risk"] or "",
                key=key(r),
                n=r["n"],
            )

    calls = Call.objects.filter(queued_at__gte=start, queued_at__lt=end)
    yield from rows(CALLS, _daily(calls, "queued_at", CASE_DISTRICT, "hotline_id", "case__risk"))
    # The hour-of-day x day-of-week pattern: no risk split, to keep it to ~150 rows a day.
    yield from rows(
        CALL_HOURS,
        _daily(
            calls,
            "queued_at",
            CASE_DISTRICT,
            "hotline_id",
            "",
            d_weekday=ExtractIsoWeekDay("queued_at", tzinfo=LOCAL),
            d_hour=ExtractHour("queued_at", tzinfo=LOCAL),
        ),
        key=lambda r: f"{r['d_weekday']}:{r['d_hour']}",
    )
    opened = CaseFile.objects.filter(opened_at__gte=start, opened_at__lt=end)
    yield from rows(
        CASES_OPENED,
        _daily(opened, "opened_at", "district__path", "owning_organisation_id", "risk"),
    )
    dispatches = Dispatch.objects.filter(created_at__gte=start, created_at__lt=end)
    yield from rows(
        DISPATCHES,
        _daily(
            dispatches,
            "created_at",
            CASE_DISTRICT,
            "case__owning_organisation_id",
            "case__risk",
        ),
    )
    visits = StageVisit.objects.filter(left_at__gte=start, left_at__lt=end)
    yield from rows(
        STAGE_EXIT,
        _daily(
            visits,
            "left_at",
            CASE_DISTRICT,
            "case__owning_organisation_id",
            "",
            d_stage=F("stage"),
            d_bucket=_bucket("entered_at", "left_at"),
        ),
        key=lambda r: f"{r['d_stage']}:{r['d_bucket']}",
    )
    acked = Referral.objects.filter(acknowledged_at__gte=start, acknowledged_at__lt=end)
    yield from rows(
        REFERRAL_ACK,
        _daily(
            acked,
            "acknowledged_at",
            CASE_DISTRICT,
            "receiver_id",
            "urgency",
            d_bucket=_bucket("sent_at", "acknowledged_at"),
        ),
        key=lambda r: str(r["d_bucket"]),
    )
    lost = FollowUp.objects.filter(state=FollowUpState.LOST, done_at__gte=start, done_at__lt=end)
    yield from rows(
        FOLLOW_UP_LOST,
        _daily(lost, "done_at", CASE_DISTRICT, "organisation_id", "case__risk"),
    )


def repeat_caller_rows(
    first_monday: date,
    last: date,
    *,
    before: datetime | None = None,
    stored_until: datetime | None = None,
) -> Iterator[DailyCount]:
    """复访来电: per week (on its Monday), how many people called at least
    ``DASHBOARD_REPEAT_CALLS`` times that week, by district and hotline.

    ``before``: count only the calls before that instant (the intraday refresh).
    ``stored_until``: the first week is stored up to that instant (``refresh_today``); count
    only the people it adds, those whose calls since then brought them to the threshold."""
    from hotline.models import Call
    from hotline.models import Case as CaseFile

    threshold = settings.DASHBOARD_REPEAT_CALLS
    monday = first_monday
    while monday <= last:
        start, end = day_start(monday), day_start(monday + timedelta(days=7))
        if before is not None:
            end = min(end, before)
        calls = Call.objects.filter(queued_at__gte=start, queued_at__lt=end, person__isnull=False)
        if stored_until is not None and monday == first_monday:
            late = set(
                calls.filter(queued_at__gte=stored_until).values_list("person_id", "hotline_id")
            )
            counted = (
                calls.filter(person__in={person for person, _ in late})
                .values_list("person_id", "hotline_id")
                .annotate(
                    calls=Count("pk"), earlier=Count("pk", filter=Q(queued_at__lt=stored_until))
                )
                .order_by()
            )
            repeaters = [
                (person, hotline)
                for person, hotline, n, earlier in counted
                if (person, hotline) in late and n >= threshold > earlier
            ]
        else:
            # Count per person first (the week's calls from the index), then look up the
            # district of the few repeat callers only.
            repeaters = list(
                calls.values_list("person_id", "hotline_id")
                .annotate(calls=Count("pk"))
                .filter(calls__gte=threshold)
                .values_list("person_id", "hotline_id")
                .order_by()
            )
        # Every case of a person keeps the same district (Person.save moves them all).
        district_of = dict(
            CaseFile.objects.filter(person__in={person for person, _ in repeaters})
            .annotate(d_district=_district("district__path"))
            .values_list("person_id", "d_district")
        )
        groups: dict[tuple[str, int], int] = defaultdict(int)
        for person, hotline in repeaters:
            groups[(district_of.get(person, ""), hotline)] += 1
        for (district, hotline), n in groups.items():
            yield DailyCount(
                day=monday,
                metric=REPEAT_CALLERS,
                district=district,
                organisation=hotline,
                n=n,
            )
        monday += timedelta(days=7)


def mark() -> date | None:
    found = RollupMark.objects.filter(name=MARK).values_list("through", flat=True).first()
    return found


def coverage() -> tuple[date | None, datetime | None]:
    """``(through, until)``: the last whole day stored, and the instant before which everything
    is stored (today's rows up to the last intraday refresh, else the end of ``through``)."""
    found = RollupMark.objects.filter(name=MARK).values_list("through", "until").first()
    if found is None:
        return None, None
    through, until = found
    return through, until or day_start(through + timedelta(days=1))


def _lock() -> None:
    """Serialise refreshes (several workers may run the hook): each deletes and rewrites rows,
    and two at once would write them twice. Call inside the refresh's transaction."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext('dashboard_rollup'))")


def refresh(*, since: date | None = None, through: date | None = None, now=None) -> int:
    """Count the closed days from ``since`` (default: the day after the mark, back to its week's
    Monday so the week's repeat callers are whole) through ``through`` (default: yesterday).

    Idempotent: the span's rows (and any partial day after it) are deleted and rewritten in one
    transaction. Returns the rows written.
    """
    today = local_day(now or timezone.now())
    through = through or today - timedelta(days=1)
    with transaction.atomic():
        _lock()
        if since is None:
            current = mark()
            if current is None:
                first_case = _earliest()
                since = first_case or through
            else:
                since = current + timedelta(days=1)
        since = monday_of(since)
        if since > through:
            # Nothing new; a mark from before the month-so-far sums gets them now.
            stored = mark()
            if stored is None or month_to_date():
                return 0
            written = _sum_month_to_date(stored)
            RollupMark.objects.filter(name=MARK).update(month_to_date=True)
            return written
        written = 0
        # From ``since`` on: the span, and the partial day an intraday refresh stored after it.
        DailyCount.objects.filter(day__gte=since).delete()
        batch: list[DailyCount] = []
        # Weeks are stored once complete; the current week's repeat callers are read live (or
        # stored so far by ``refresh_today``).
        last_complete_monday = monday_of(through + timedelta(days=1)) - timedelta(days=7)
        DailyCount.objects.filter(metric=REPEAT_CALLERS, day__gt=last_complete_monday).delete()
        rows = chain(
            build_rows(day_start(since), day_start(through + timedelta(days=1))),
            repeat_caller_rows(since, last_complete_monday),
        )
        for row in rows:
            batch.append(row)
            if len(batch) == 5000:
                DailyCount.objects.bulk_create(batch)
                written += len(batch)
                batch = []
        DailyCount.objects.bulk_create(batch)
        written += len(batch) + _sum_months(since, through) + _sum_month_to_date(through)
        RollupMark.objects.update_or_create(
            name=MARK,
            defaults={
                "through": through,
                "until": None,
                "refreshed_at": timezone.now(),
                "month_to_date": True,
            },
        )
    return written


def refresh_today(now=None) -> int:
    """Store the day after the mark (normally today) up to shortly before ``now``, so a page
    counts only the minutes since live. The day is recounted whole each time (a case's risk or a
    call's person set since the last time is picked up) and again when it closes.

    The cut stays ``DASHBOARD_ROLLUP_LAG`` seconds behind (a row written in a transaction still
    open is not missed) and before the oldest call still live (its person and case are set
    during the call). Returns the rows written; 0 if the closed days are not stored yet.
    """
    from hotline.models import Call

    now = now or timezone.now()
    with transaction.atomic():
        _lock()
        through = mark()
        if through is None:
            return 0
        start = day_start(through + timedelta(days=1))
        cut = min(
            now - timedelta(seconds=settings.DASHBOARD_ROLLUP_LAG),
            day_start(through + timedelta(days=2)),
        )
        live = (
            Call.objects.filter(status__in=LIVE_CALL_STATUSES)
            .order_by("queued_at")
            .values_list("queued_at", flat=True)
            .first()
        )
        if live is not None:
            cut = min(cut, live)
        if cut <= start:
            return 0
        week = monday_of(through + timedelta(days=1))  # not complete at ``through``
        DailyCount.objects.filter(day__gt=through).delete()
        DailyCount.objects.filter(metric=REPEAT_CALLERS, day=week).delete()
        made = list(build_rows(start, cut, stream=False))
        made += repeat_caller_rows(week, week, before=cut)
        DailyCount.objects.bulk_create(made, batch_size=5000)
        RollupMark.objects.filter(name=MARK).update(until=cut, refreshed_at=timezone.now())
    return len(made)


def _monthly_sums(first: date, last: date, metric_suffix: str) -> list[DailyCount]:
    """The sums of ``MONTHLY_METRICS`` over ``first..last``, on ``first``."""
    sums = (
        DailyCount.objects.filter(metric__in=MONTHLY_METRICS, day__gte=first, day__lte=last)
        .values("metric", "district", "organisation", "risk", "key")
        .annotate(total=Sum("n"))
        .order_by()
    )
    return [
        DailyCount(
            day=first,
            metric=r["metric"] + metric_suffix,
            district=r["district"],
            organisation=r["organisation"],
            risk=r["risk"],
            key=r["key"],
            n=r["total"],
        )
        for r in sums
    ]


def _sum_month_to_date(through: date) -> int:
    """(Re)write the sums of ``through``'s month so far (none when the month is complete)."""
    DailyCount.objects.filter(metric__in=[m + MONTH_TO_DATE for m in MONTHLY_METRICS]).delete()
    first = through.replace(day=1)
    if month_end(through) == through:
        return 0
    made = _monthly_sums(first, through, MONTH_TO_DATE)
    DailyCount.objects.bulk_create(made, batch_size=5000)
    return len(made)


def month_to_date() -> bool:
    """Whether the month-so-far sums are stored for the mark (a mark from before they were)."""
    found = RollupMark.objects.filter(name=MARK).values_list("month_to_date", flat=True).first()
    return bool(found)


def _sum_months(since: date, through: date) -> int:
    """(Re)write the monthly sums of the complete months touching ``since..through``."""
    month = since.replace(day=1)
    written = 0
    while month <= through:
        last = month_end(month)
        if last > through:
            break
        DailyCount.objects.filter(
            metric__in=[m + MONTHLY for m in MONTHLY_METRICS], day=month
        ).delete()
        made = _monthly_sums(month, last, MONTHLY)
        DailyCount.objects.bulk_create(made, batch_size=5000)
        written += len(made)
        month = last + timedelta(days=1)
    return written


def rebuild(*, now=None) -> int:
    """Drop the rollup and count every day again (after a backdated correction or an import)."""
    with transaction.atomic():
        _lock()
        DailyCount.objects.all().delete()
        RollupMark.objects.filter(name=MARK).delete()
        return refresh(now=now)


def _earliest() -> date | None:
    from hotline.models import Call
    from hotline.models import Case as CaseFile

    firsts = [
        CaseFile.objects.order_by("opened_at").values_list("opened_at", flat=True).first(),
        Call.objects.order_by("queued_at").values_list("queued_at", flat=True).first(),
    ]
    found = [local_day(f) for f in firsts if f is not None]
    return min(found) if found else None


_tail_cache: dict[str, tuple] = {}


def clear_tail_cache() -> None:
    _tail_cache.clear()


def tail_rows(now=None) -> list[DailyCount]:
    """The rows the table does not hold yet: what happened from ``until`` through today (a few
    minutes when the worker runs) and the weeks not complete at the mark (repeat callers).
    Several tables of one page ask with the same ``now``: they share one count."""
    now = now or timezone.now()
    state = coverage()
    cached = _tail_cache.get("tail")
    if cached and cached[0] == (now, state):
        return cached[1]
    rows = _tail_rows(now, *state)
    _tail_cache["tail"] = ((now, state), rows)
    return rows


def _tail_rows(now: datetime, through: date | None, until: datetime | None) -> list[DailyCount]:
    today = local_day(now)
    end = day_start(today + timedelta(days=1))
    if through is None or until is None:
        first = _earliest() or today
        return list(build_rows(day_start(first), end, stream=False)) + list(
            repeat_caller_rows(monday_of(first), today)
        )
    daily = list(build_rows(until, end, stream=False)) if until < end else []
    first_open_week = monday_of(through + timedelta(days=1))
    # Stored up to ``until`` by the intraday refresh: only the people it adds since.
    stored = until if until > day_start(through + timedelta(days=1)) else None
    return daily + list(repeat_caller_rows(first_open_week, today, stored_until=stored))


_last_refresh: dict[str, datetime] = {}


def worker_hook(now: datetime) -> None:
    """Run by the escalation worker (every ``ESCALATION_SOURCES_POLL``), at most every
    ``DASHBOARD_ROLLUP_EVERY`` seconds: stores the days that have closed, then today so far."""
    last = _last_refresh.get(MARK)
    if last is not None and (now - last).total_seconds() < settings.DASHBOARD_ROLLUP_EVERY:
        return
    _last_refresh[MARK] = now
    current = mark()
    if current is None or current < local_day(now) - timedelta(days=1):
        refresh(now=now)
    refresh_today(now)
