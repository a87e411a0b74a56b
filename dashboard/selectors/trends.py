"""The period tables (趋势): sums of the daily rollup (``dashboard.rollup``) over the filtered
period, so they cost the same at any history size, plus the few minutes not stored yet."""

from collections import defaultdict
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Q, Sum
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dashboard import rollup
from dashboard.models import DailyCount
from dashboard.selectors.common import RISK_SPLIT, Filters, Table
from hotline.models import OPEN_STAGES, Stage


def rolled(
    f: Filters, metrics: tuple[str, ...], fields: tuple[str, ...], now: datetime, *, monthly=False
) -> dict[tuple, int]:
    """Sum of the rollup rows of ``metrics`` in the filtered period, grouped by ``fields``:
    stored days up to the mark (whole months from the monthly sums when ``monthly``), the part
    of the day after it stored by the intraday refresh, plus what came after counted live."""
    through, until = rollup.coverage()
    totals: dict[tuple, int] = defaultdict(int)

    if through is not None:
        # The last day with stored rows: ``through``, or the day the intraday refresh stored.
        last_stored = min(f.date_to, rollup.local_day(until - timedelta(microseconds=1)))
        spans = [Q(metric__in=metrics, day__gte=f.date_from, day__lte=last_stored)]
        if monthly:
            # Monthly sums exist for the months complete at ``through``, and for the month so
            # far (its first day through ``through``).
            months, days = _split_months(f.date_from, min(last_stored, through))
            spans = [Q(metric__in=[m + rollup.MONTHLY for m in metrics], day__in=months)]
            so_far = (through.replace(day=1), through)
            if days and days[-1] == so_far and rollup.month_to_date():
                days.pop()
                spans.append(
                    Q(metric__in=[m + rollup.MONTH_TO_DATE for m in metrics], day=so_far[0])
                )
            days += [(max(f.date_from, through + timedelta(days=1)), last_stored)]
            spans += [
                Q(metric__in=metrics, day__gte=first, day__lte=last)
                for first, last in days
                if first <= last
            ]
        # One query per span, not one with OR: each is then read from the covering index alone.
        for span in spans if f.date_from <= last_stored else []:
            qs = DailyCount.objects.filter(span)
            if f.district:
                qs = qs.filter(district=f.district.path)
            if f.organisation:
                qs = qs.filter(organisation=f.organisation.pk)
            if f.risk and all(m in RISK_SPLIT for m in metrics):
                qs = qs.filter(risk=f.risk)
            for r in qs.values(*fields).annotate(total=Sum("n")).order_by():
                row = dict(r)
                if "metric" in row:
                    row["metric"] = (
                        row["metric"]
                        .removesuffix(rollup.MONTH_TO_DATE)
                        .removesuffix(rollup.MONTHLY)
                    )
                totals[tuple(row[x] for x in fields)] += row["total"]
    for row in rollup.tail_rows(now):
        if row.metric not in metrics or not (f.date_from <= row.day <= f.date_to):
            continue
        if f.district and row.district != f.district.path:
            continue
        if f.organisation and row.organisation != f.organisation.pk:
            continue
        if f.risk and row.metric in RISK_SPLIT and row.risk != f.risk:
            continue
        totals[tuple(getattr(row, x) for x in fields)] += row.n
    return totals


def _split_months(first: date, last: date) -> tuple[list[date], list[tuple[date, date]]]:
    """Whole calendar months inside ``first..last``, and the leftover day spans."""
    months, days = [], []
    cursor = first
    while cursor <= last:
        end = rollup.month_end(cursor)
        if cursor.day == 1 and end <= last:
            months.append(cursor)
        else:
            days.append((cursor, min(end, last)))
        cursor = end + timedelta(days=1)
    return months, days


def time_in_stage(f: Filters, now: datetime) -> Table:
    """Median time spent in each stage (StageVisit), for the stays that ended in the period."""
    totals = rolled(f, (rollup.STAGE_EXIT,), ("key",), now, monthly=True)
    per_stage: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for (key,), n in totals.items():
        stage, bucket = key.split(":")
        per_stage[stage][int(bucket)] += n
    rows = []
    for code, label in Stage.choices:
        if code not in OPEN_STAGES:
            continue
        histogram = per_stage.get(code, {})
        median = rollup.median_minutes(histogram)
        rows.append(
            {
                "stage": str(label),
                "code": code,
                "stays": sum(histogram.values()),
                "median_hours": None if median is None else round(median / 60, 1),
            }
        )
    return Table(
        "time_in_stage",
        _("Median time in stage"),
        [("stage", _("Stage")), ("stays", _("Stays ended")), ("median_hours", _("Median hours"))],
        rows,
        note=_("Medians are read from duration bands and are accurate to about 12%."),
    )


def repeat_callers(f: Filters, now: datetime) -> Table:
    """复访来电: people calling ``DASHBOARD_REPEAT_CALLS`` or more times in a week, the last 12
    weeks of the period; ``rising`` when the latest whole week is above the mean of the four
    before it."""
    end = min(f.date_to, rollup.local_day(now))
    first_monday = rollup.monday_of(end) - timedelta(weeks=11)
    window = Filters(first_monday, end, f.district, f.organisation, "", f.no_contact_days)
    totals = rolled(window, (rollup.REPEAT_CALLERS,), ("day",), now)
    rows = []
    for i in range(12):
        monday = first_monday + timedelta(weeks=i)
        rows.append({"week": monday.isoformat(), "people": totals.get((monday,), 0)})
    whole = (
        rows[:-1]
        if rollup.monday_of(rollup.local_day(now)) == first_monday + timedelta(weeks=11)
        else rows
    )
    latest, before = whole[-1]["people"], [r["people"] for r in whole[-5:-1]]
    rising = bool(before) and latest > sum(before) / len(before)
    for r in rows:
        r["rising"] = ""
    whole[-1]["rising"] = _("rising") if rising else _("steady")
    return Table(
        "repeat_callers",
        _("Repeat callers per week"),
        [("week", _("Week of")), ("people", _("People")), ("rising", _("Trend"))],
        rows,
        note=_("People with %(n)s or more calls in the week.")
        % {"n": settings.DASHBOARD_REPEAT_CALLS},
    )


# --- trends (趋势) -----------------------------------------------------------------------------


def weekly_trends(f: Filters, now: datetime) -> Table:
    """Calls, cases opened and dispatches per week (Monday to Sunday) in the period."""
    metrics = (rollup.CALLS, rollup.CASES_OPENED, rollup.DISPATCHES)
    totals = rolled(f, metrics, ("metric", "day"), now)
    weeks: dict[date, dict[str, int]] = {}
    monday = rollup.monday_of(f.date_from)
    while monday <= f.date_to:
        weeks[monday] = dict.fromkeys(metrics, 0)
        monday += timedelta(weeks=1)
    for (metric, day), n in totals.items():
        weeks[rollup.monday_of(day)][metric] += n
    rows = [
        {
            "week": monday.isoformat(),
            "calls": counts[rollup.CALLS],
            "cases_opened": counts[rollup.CASES_OPENED],
            "dispatches": counts[rollup.DISPATCHES],
        }
        for monday, counts in weeks.items()
    ]
    return Table(
        "weekly_trends",
        _("Calls, cases and dispatches per week"),
        [
            ("week", _("Week of")),
            ("calls", _("Calls")),
            ("cases_opened", _("Cases opened")),
            ("dispatches", _("Dispatches")),
        ],
        rows,
    )


WEEKDAYS = [
    gettext_lazy("Mon"),
    gettext_lazy("Tue"),
    gettext_lazy("Wed"),
    gettext_lazy("Thu"),
    gettext_lazy("Fri"),
    gettext_lazy("Sat"),
    gettext_lazy("Sun"),
]


def call_pattern(f: Filters, now: datetime) -> Table:
    """Calls by hour of day and day of week (Asia/Shanghai) in the period."""
    totals = rolled(f, (rollup.CALL_HOURS,), ("key",), now, monthly=True)
    grid = [[0] * 24 for _ in range(7)]
    for (key,), n in totals.items():
        weekday, hour = (int(x) for x in key.split(":"))
        grid[weekday - 1][hour] += n
    rows = [
        {"weekday": str(WEEKDAYS[d]), **{f"h{h:02d}": grid[d][h] for h in range(24)}}
        for d in range(7)
    ]
    return Table(
        "call_pattern",
        _("Calls by hour and day of week"),
        [("weekday", _("Day"))] + [(f"h{h:02d}", f"{h:02d}") for h in range(24)],
        rows,
        note=_("Not split by risk: the risk filter does not apply here."),
    )
