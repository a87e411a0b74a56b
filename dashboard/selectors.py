"""The one-screen view's queries (一屏总览): one function per dashboard table.

Every function takes the parsed ``Filters`` and ``now`` and returns a ``Table`` of counts,
durations and organisation/district names only: nothing here carries a person's name, a phone
number or a note, because decision makers read all of it. Drill-downs to cases are separate
(``drill_down_cases``) and only for coordinators and administrators.

"Now" tables read the live rows through partial or narrow indexes, so their cost follows the
work in hand, not the years of history; period tables read the daily rollup (``rollup``).
"""

from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Exists, Min, OuterRef, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import Invalid
from dashboard import rollup, tally
from dashboard.models import DailyCount
from directory.access import is_administrator, memberships
from directory.models import Organisation, Region, RegionLevel, Role
from hotline.models import OPEN_STAGES, Risk, Stage

CONTACT_EVENT_TYPES = (
    # What counts as contact with the person (联系) for "high risk, no contact in N days".
    "case.opened",
    "call.accepted",
    "call.triaged",
    "call.completed",
    "follow_up.attempted",
    "appointment.attended",
    "referral.attended",
    "admission.admitted",
    "admission.discharged",
    "plan.checked_in",
    "dispatch.leg_progressed",
)
LIVE_CALL_STATUSES = ("queued", "offered", "in_progress", "wrap_up")
HIGH_RISKS = (Risk.HIGH.value, Risk.IMMINENT.value)
RISK_SPLIT = {
    rollup.CALLS,
    rollup.CASES_OPENED,
    rollup.DISPATCHES,
    rollup.REFERRAL_ACK,
    rollup.FOLLOW_UP_LOST,
}


# --- who may read what ------------------------------------------------------------------------

DASHBOARD_ROLES = (Role.DECISION_MAKER, Role.COORDINATOR)


def dashboard_role(user) -> str | None:
    """ "administrator", "coordinator" (may drill down), "decision_maker" (counts only) or None."""
    if is_administrator(user):
        return Role.ADMINISTRATOR.value
    roles = {m.role for m in memberships(user)}
    if Role.COORDINATOR in roles:
        return Role.COORDINATOR.value
    if Role.DECISION_MAKER in roles:
        return Role.DECISION_MAKER.value
    return None


def drill_down_organisation_ids(user) -> set[int] | None:
    """Organisations whose cases the user may list from the dashboard; None means all."""
    if is_administrator(user):
        return None
    return {m.organisation_id for m in memberships(user) if m.role == Role.COORDINATOR}


# --- filters ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    date_from: date
    date_to: date
    district: Region | None = None
    organisation: Organisation | None = None
    risk: str = ""
    no_contact_days: int = 7

    def query(self) -> dict[str, str]:
        """The filters as URL parameters (so a filtered view can be shared)."""
        q = {"from": self.date_from.isoformat(), "to": self.date_to.isoformat()}
        if self.district:
            q["district"] = self.district.code
        if self.organisation:
            q["organisation"] = self.organisation.code
        if self.risk:
            q["risk"] = self.risk
        if self.no_contact_days != settings.DASHBOARD_NO_CONTACT_DAYS:
            q["no_contact_days"] = str(self.no_contact_days)
        return q


def districts():
    return Region.objects.filter(level=RegionLevel.DISTRICT).order_by("code")


def parse_filters(params, now: datetime | None = None) -> Filters:
    """Read the filters from a query string; bad values -> ``Invalid`` with the field named."""
    today = rollup.local_day(now or timezone.now())
    errors: dict[str, list[str]] = {}

    def day(name: str, default: date) -> date:
        raw = (params.get(name) or "").strip()
        if not raw:
            return default
        try:
            return date.fromisoformat(raw)
        except ValueError:
            errors[name] = [_("Enter a date as YYYY-MM-DD.")]
            return default

    date_to = day("to", today)
    date_from = day("from", date_to.replace(year=date_to.year - 1) + timedelta(days=1))
    if date_from > date_to:
        errors["from"] = [_("The start date is after the end date.")]
    elif (date_to - date_from).days > 366 * 5:
        errors["from"] = [_("Choose a period of at most five years.")]
    district = None
    if params.get("district"):
        district = districts().filter(code=params["district"]).first()
        if district is None:
            errors["district"] = [_("No such district or county.")]
    organisation = None
    if params.get("organisation"):
        organisation = Organisation.objects.filter(code=params["organisation"]).first()
        if organisation is None:
            errors["organisation"] = [_("No such organisation.")]
    risk = params.get("risk") or ""
    if risk and risk not in Risk.values:
        errors["risk"] = [_("Choose one of the risk levels.")]
    no_contact_days = settings.DASHBOARD_NO_CONTACT_DAYS
    if params.get("no_contact_days"):
        try:
            no_contact_days = int(params["no_contact_days"])
            if not 1 <= no_contact_days <= 365:
                raise ValueError
        except ValueError:
            errors["no_contact_days"] = [_("Enter a number of days from 1 to 365.")]
    if errors:
        raise Invalid(_("Some filters are not valid."), code="invalid_filters", fields=errors)
    return Filters(date_from, date_to, district, organisation, risk, no_contact_days)


# --- tables -----------------------------------------------------------------------------------


@dataclass
class Table:
    key: str
    title: str
    columns: list[tuple[str, str]]
    rows: list[dict] = field(default_factory=list)
    note: str = ""

    def as_dict(self) -> dict:
        return {
            "key": self.key,
            "title": str(self.title),
            "columns": [{"key": k, "label": str(label)} for k, label in self.columns],
            "rows": self.rows,
            "note": str(self.note),
        }


def _case_filter(f: Filters, prefix: str = "") -> Q:
    """The district/organisation/risk filters applied to a case reached through ``prefix``."""
    q = Q()
    if f.district:
        # The case's own district (Case.district): no look-up of its person.
        q &= Q(**{f"{prefix}district": f.district})
    if f.organisation:
        q &= Q(**{f"{prefix}owning_organisation": f.organisation})
    if f.risk:
        q &= Q(**{f"{prefix}risk": f.risk})
    return q


def _of_filtered_cases(items, f: Filters, case: str, *, follow_ups: bool = False) -> list:
    """Live items (follow-ups, referrals, legs) whose case, reached through ``case``, passes the
    district/risk filters (not the organisation's), as querysets whose counts add up.

    Joining every live item to its case lets the planner hash all the matching cases of every
    year instead. So: items of the open cases that pass (a few, found from the open cases'
    index), plus for ``follow_ups``, items of the closed cases that hold one (next to none).
    Only a follow-up can be live on a closed case: it can be scheduled after the case closed,
    while referrals and dispatches are refused on a closed case and a case does not close while
    one is live (``hotline.closing``).
    """
    f = replace(f, organisation=None)
    if not (f.district or f.risk):
        return [items]
    passing = items.filter(**{f"{case}__in": _open_cases(f).values("pk")})
    stray = _closed_cases_with_follow_ups() if follow_ups else []
    if not stray:
        return [passing]
    return [passing, items.filter(**{f"{case}__in": stray}).filter(_case_filter(f, case + "__"))]


def _closed_cases_with_follow_ups() -> list[int]:
    """Closed cases holding a scheduled follow-up: NOT EXISTS lets the planner merge two sorted
    index-only scans (the follow-ups' case ids, the open cases' ids). With the case filter in
    the same statement it would hash every matching case of every year instead."""
    from clinics.models import FollowUp, FollowUpState
    from hotline.models import Case

    on_open_case = Exists(Case.objects.open().filter(pk=OuterRef("case_id")))
    return list(
        FollowUp.objects.filter(state=FollowUpState.SCHEDULED)
        .filter(~on_open_case)
        .values_list("case_id", flat=True)
        .order_by()  # not the model's (due_at, id): the follow-up index holds the case id
        .distinct()
    )


@contextmanager
def _serial():
    """Without parallel workers: the live-item counts read a few thousand index entries, less
    than it costs to start workers that would each hash the open cases' ids again."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        try:
            yield
        finally:
            cur.execute("SET LOCAL max_parallel_workers_per_gather TO DEFAULT")


def _district_names() -> dict[str, str]:
    return {r.path: r.name for r in districts()}


def _district_of(path: str | None) -> str:
    path = path or ""
    return path[: rollup.DISTRICT_PATH_LENGTH] if len(path) >= rollup.DISTRICT_PATH_LENGTH else ""


def _district_rows(counts: dict) -> list[dict]:
    """One row per district/county from cases counted by district id, plus one for the cases
    of none (id None or 0) when there are any."""
    rows, placed = [], 0
    for pk, path, name in districts().values_list("pk", "path", "name"):
        rows.append({"district": name, "code": path.split("/")[1], "cases": counts.get(pk, 0)})
        placed += counts.get(pk, 0)
    unknown = sum(counts.values()) - placed
    if unknown:
        rows.append(
            {"district": _("Unknown or outside the districts"), "code": "", "cases": unknown}
        )
    return rows


def _minutes(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


# --- now (实时态势) ----------------------------------------------------------------------------


def calls_now(f: Filters, now: datetime) -> Table:
    """Calls waiting and in progress, and the longest wait."""
    from hotline.models import Call, CallStatus

    qs = Call.objects.filter(status__in=LIVE_CALL_STATUSES)
    if f.organisation:
        qs = qs.filter(hotline=f.organisation)
    by_status = dict(qs.values_list("status").annotate(n=Count("pk")).order_by())
    oldest = qs.filter(status__in=[CallStatus.QUEUED, CallStatus.OFFERED]).aggregate(
        oldest=Min("queued_at")
    )["oldest"]
    waiting = by_status.get(CallStatus.QUEUED, 0) + by_status.get(CallStatus.OFFERED, 0)
    rows = [
        {"measure": _("Calls waiting"), "value": waiting},
        {"measure": _("Calls in progress"), "value": by_status.get(CallStatus.IN_PROGRESS, 0)},
        {"measure": _("Calls in wrap-up"), "value": by_status.get(CallStatus.WRAP_UP, 0)},
        {
            "measure": _("Longest wait (seconds)"),
            "value": int((now - oldest).total_seconds()) if oldest else 0,
        },
    ]
    return Table(
        "calls_now", _("Calls now"), [("measure", _("Measure")), ("value", _("Value"))], rows
    )


def operators_now(f: Filters, now: datetime) -> Table:
    """Operators by presence state, and how many are rostered on duty now (counts, no names)."""
    from hotline.models import OperatorPresence, PresenceStatus, Shift

    presence = OperatorPresence.objects.all()
    shifts = Shift.objects.filter(starts_at__lte=now, ends_at__gt=now)
    if f.organisation:
        presence = presence.filter(hotline=f.organisation)
        shifts = shifts.filter(hotline=f.organisation)
    counts = dict(presence.values_list("status").annotate(n=Count("pk")).order_by())
    rows = [
        {"state": str(label), "code": code, "operators": counts.get(code, 0)}
        for code, label in PresenceStatus.choices
    ]
    rows.append({"state": _("Rostered on duty"), "code": "rostered", "operators": shifts.count()})
    return Table(
        "operators_now",
        _("Operators on duty"),
        [("state", _("State")), ("operators", _("Operators"))],
        rows,
    )


def open_dispatches(f: Filters, now: datetime) -> Table:
    """一键智达 in progress: every leg of every open dispatch with its state and countdown."""
    from escalation.models import Dispatch, DispatchLeg, LegState, ResponderKind

    # Plain values, not model instances: a leg row is a handful of fields, and building the
    # leg, dispatch, organisation and region objects cost more than the query.
    legs = (
        DispatchLeg.objects.filter(dispatch__status=Dispatch.Status.OPEN)
        .filter(_case_filter(f, "dispatch__case__"))
        .values_list(
            "dispatch_id",
            "dispatch__created_at",
            "dispatch__region__path",
            "kind",
            "organisation__name",
            "state",
            "ack_deadline",
        )
        .order_by("dispatch_id", "id")[:200]
    )
    rows = []
    districts_by_path = _district_names()
    kinds = {code: str(label) for code, label in ResponderKind.choices}
    states = {code: str(label) for code, label in LegState.choices}
    zone = timezone.get_current_timezone()
    for dispatch, opened, region_path, kind, organisation, state, ack_deadline in legs:
        waiting = state == LegState.NOTIFIED
        rows.append(
            {
                "dispatch": dispatch,
                "opened": opened.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                # The district only: a village and a minute could point at the person.
                "region": districts_by_path.get(_district_of(region_path or ""), ""),
                "responder": kinds.get(kind, kind),
                "organisation": organisation,
                "state": states.get(state, state),
                "state_code": state,
                "ack_deadline": ack_deadline.isoformat() if waiting else "",
                "seconds_left": int((ack_deadline - now).total_seconds()) if waiting else None,
            }
        )
    return Table(
        "open_dispatches",
        _("Open dispatches"),
        [
            ("dispatch", _("Dispatch")),
            ("opened", _("Opened")),
            ("region", _("District/county")),
            ("responder", _("Responder")),
            ("organisation", _("Organisation")),
            ("state", _("State")),
            ("seconds_left", _("Seconds left to acknowledge")),
        ],
        rows,
    )


def open_alerts_by_severity(f: Filters, now: datetime) -> Table:
    from escalation.models import Alert, AlertState, Severity

    qs = Alert.objects.filter(state__in=[AlertState.OPEN, AlertState.ACKNOWLEDGED])
    if f.organisation:
        qs = qs.filter(
            Q(target_organisation=f.organisation) | Q(assigned_organisation=f.organisation)
        )
    counts = defaultdict(int)
    for severity, state, n in (
        qs.values_list("severity", "state").annotate(n=Count("pk")).order_by()
    ):
        counts[(severity, state)] = n
    rows = [
        {
            "severity": str(label),
            "code": code,
            "open": counts[(code, AlertState.OPEN)],
            "acknowledged": counts[(code, AlertState.ACKNOWLEDGED)],
        }
        for code, label in reversed(Severity.choices)
    ]
    return Table(
        "open_alerts",
        _("Open alerts by severity"),
        [("severity", _("Severity")), ("open", _("Open")), ("acknowledged", _("Acknowledged"))],
        rows,
    )


# --- the loop (闭环) ---------------------------------------------------------------------------


def _open_cases(f: Filters):
    from hotline.models import Case

    # "stage <> 'closed'", the predicate of the partial indexes case_open_*figures.
    return Case.objects.open().filter(_case_filter(f))


def _open_case_counts(f: Filters, by: str) -> dict:
    """Open cases per ``by`` from the tally (the number of groups, not of open cases)."""
    return tally.counts(
        by,
        risk=f.risk or None,
        organisation=f.organisation.pk if f.organisation else None,
        district=f.district.pk if f.district else None,
    )


def open_cases_by_stage(f: Filters, now: datetime) -> Table:
    """The funnel: open cases in each stage of the loop, discovery -> follow-up."""
    counts = _open_case_counts(f, "stage")
    # Prevention is shown only when a case is there: the hotline's cases start at discovery.
    rows = [
        {"stage": str(label), "code": code, "cases": counts.get(code, 0)}
        for code, label in Stage.choices
        if code in OPEN_STAGES and (code != Stage.PREVENTION or counts.get(code))
    ]
    return Table(
        "open_cases_by_stage",
        _("Open cases by stage"),
        [("stage", _("Stage")), ("cases", _("Open cases"))],
        rows,
    )


def open_cases_by_risk(f: Filters, now: datetime) -> Table:
    counts = _open_case_counts(f, "risk")
    rows = [
        {"risk": str(label), "code": code, "cases": counts.get(code, 0)}
        for code, label in reversed(Risk.choices)
    ]
    return Table(
        "open_cases_by_risk",
        _("Open cases by risk"),
        [("risk", _("Risk")), ("cases", _("Open cases"))],
        rows,
    )


def open_cases_by_district(f: Filters, now: datetime) -> Table:
    """Open cases in each district/county (by the person's home region, Case.district)."""
    return Table(
        "open_cases_by_district",
        _("Open cases by district/county"),
        [("district", _("District/county")), ("cases", _("Open cases"))],
        _district_rows(_open_case_counts(f, "district")),
    )


def _rolled(
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
    totals = _rolled(f, (rollup.STAGE_EXIT,), ("key",), now, monthly=True)
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


# --- early warning (预警) ----------------------------------------------------------------------


def overdue_referrals(f: Filters, now: datetime) -> Table:
    """Referrals past their acknowledgement deadline, by receiving organisation."""
    from referrals.models import Referral, ReferralState

    (qs,) = _of_filtered_cases(
        Referral.objects.filter(state=ReferralState.SENT, ack_due_at__lte=now),
        replace(f, risk=""),  # the risk filter is the referral's urgency, below
        "case",
    )
    if f.organisation:
        qs = qs.filter(receiver=f.organisation)
    if f.risk:
        qs = qs.filter(urgency=f.risk)
    rows = [
        {
            "organisation": r["receiver__name"],
            "code": r["receiver__code"],
            "referrals": r["n"],
            "oldest_minutes_late": int((now - r["oldest"]).total_seconds() // 60),
        }
        for r in qs.values("receiver__name", "receiver__code")
        .annotate(n=Count("*"), oldest=Min("ack_due_at"))  # index-only: no id
        .order_by("-n", "receiver__name")
    ]
    return Table(
        "overdue_referrals",
        _("Referrals past their acknowledgement deadline"),
        [
            ("organisation", _("Receiving organisation")),
            ("referrals", _("Referrals")),
            ("oldest_minutes_late", _("Oldest, minutes late")),
        ],
        rows,
    )


def follow_ups_overdue_or_lost(f: Filters, now: datetime) -> Table:
    """回访: follow-ups overdue now, and those lost (three failed attempts) in the period."""
    from clinics.models import FollowUp, FollowUpState

    qs = FollowUp.objects.filter(state=FollowUpState.SCHEDULED, due_at__lt=now)
    if f.organisation:
        qs = qs.filter(organisation=f.organisation)
    overdue: dict[int, int] = defaultdict(int)
    with _serial():
        for part in _of_filtered_cases(qs, f, "case", follow_ups=True):
            for org, n in part.values_list("organisation_id").annotate(n=Count("pk")).order_by():
                overdue[org] += n
    lost = {
        org: n for (org,), n in _rolled(f, (rollup.FOLLOW_UP_LOST,), ("organisation",), now).items()
    }
    names = dict(
        Organisation.objects.filter(pk__in=set(overdue) | set(lost)).values_list("pk", "name")
    )
    rows = [
        {
            "organisation": names.get(org, ""),
            "overdue": overdue.get(org, 0),
            "lost": lost.get(org, 0),
        }
        for org in sorted(set(overdue) | set(lost), key=lambda o: names.get(o, ""))
    ]
    return Table(
        "follow_ups",
        _("Follow-ups overdue now, and lost in the period"),
        [
            ("organisation", _("Organisation")),
            ("overdue", _("Overdue now")),
            ("lost", _("Lost in the period")),
        ],
        rows,
    )


def _no_contact_cases(f: Filters, now: datetime):
    from hotline.models import Case
    from realtime.models import Event

    cutoff = now - timedelta(days=f.no_contact_days)
    # Event ids grow with time: the first id at the cutoff turns "contact since the cutoff" into
    # an index range on (case, id) for each high-risk case instead of a scan of its timeline.
    first_id = (
        Event.objects.filter(at__gte=cutoff).order_by("at").values_list("id", flat=True).first()
    )
    qs = (
        Case.objects.open()
        .filter(risk__in=HIGH_RISKS, opened_at__lt=cutoff)
        .filter(_case_filter(f))
    )
    if first_id is None:
        return qs
    contact = Event.objects.filter(
        case=OuterRef("pk"), id__gte=first_id, type__in=CONTACT_EVENT_TYPES
    )
    return qs.filter(~Exists(contact))


def high_risk_no_contact(f: Filters, now: datetime) -> Table:
    """High/imminent-risk open cases with no contact in ``no_contact_days``, by district."""
    counted = _no_contact_cases(f, now).values_list("district").annotate(n=Count("*"))
    counts = dict(counted.order_by())
    return Table(
        "high_risk_no_contact",
        _("High-risk people with no contact in %(days)s days") % {"days": f.no_contact_days},
        [("district", _("District/county")), ("cases", _("Cases"))],
        _district_rows(counts),
    )


def repeat_callers(f: Filters, now: datetime) -> Table:
    """复访来电: people calling ``DASHBOARD_REPEAT_CALLS`` or more times in a week, the last 12
    weeks of the period; ``rising`` when the latest whole week is above the mean of the four
    before it."""
    end = min(f.date_to, rollup.local_day(now))
    first_monday = rollup.monday_of(end) - timedelta(weeks=11)
    window = Filters(first_monday, end, f.district, f.organisation, "", f.no_contact_days)
    totals = _rolled(window, (rollup.REPEAT_CALLERS,), ("day",), now)
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


# --- responsibilities (责任落实) ---------------------------------------------------------------


def responsibilities(f: Filters, now: datetime) -> Table:
    """For each organisation: items in its hands, items overdue, median acknowledgement time."""
    from clinics.models import FollowUp, FollowUpState
    from escalation.models import ACTIVE_LEG_STATES, Alert, AlertState, DispatchLeg, LegState
    from referrals.models import ACTIVE_STATES, Referral, ReferralState

    open_items: dict[int, int] = defaultdict(int)
    overdue: dict[int, int] = defaultdict(int)

    def add(qs, org_field: str, late: Q, case: str | None, follow_ups: bool = False):
        # Open and overdue in one pass over the open items.
        if f.organisation:
            qs = qs.filter(**{org_field: f.organisation})
        with _serial():
            parts = _of_filtered_cases(qs, f, case, follow_ups=follow_ups) if case else [qs]
            for part in parts:
                counted = (
                    part.values_list(org_field)
                    .annotate(n=Count("pk"), late=Count("pk", filter=late))
                    .order_by()
                )
                for org, n, n_late in counted:
                    if org:
                        open_items[org] += n
                        overdue[org] += n_late

    add(
        Referral.objects.filter(state__in=ACTIVE_STATES),
        "receiver",
        Q(state=ReferralState.SENT, ack_due_at__lte=now),
        "case",
    )
    add(
        FollowUp.objects.filter(state=FollowUpState.SCHEDULED),
        "organisation",
        Q(due_at__lt=now),
        "case",
        follow_ups=True,
    )
    add(
        DispatchLeg.objects.filter(state__in=ACTIVE_LEG_STATES),
        "organisation",
        Q(state=LegState.NOTIFIED, ack_deadline__lt=now),
        "dispatch__case",
    )
    add(
        Alert.objects.filter(
            state__in=[AlertState.OPEN, AlertState.ACKNOWLEDGED],
            assigned_organisation__isnull=False,
        ),
        "assigned_organisation",
        Q(assignment_due__lt=now),
        None,
    )

    acks: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for (org, key), n in _rolled(
        f, (rollup.REFERRAL_ACK,), ("organisation", "key"), now, monthly=True
    ).items():
        acks[org][int(key)] += n
    orgs = set(open_items) | set(overdue) | set(acks)
    names = dict(Organisation.objects.filter(pk__in=orgs).values_list("pk", "name"))
    rows = []
    for org in sorted(orgs, key=lambda o: (-overdue.get(o, 0), names.get(o, ""))):
        median = rollup.median_minutes(acks.get(org, {}))
        rows.append(
            {
                "organisation": names.get(org, ""),
                "open": open_items.get(org, 0),
                "overdue": overdue.get(org, 0),
                "acknowledged": sum(acks.get(org, {}).values()),
                "median_ack_minutes": _minutes(median),
            }
        )
    return Table(
        "responsibilities",
        _("Responsibilities by organisation"),
        [
            ("organisation", _("Organisation")),
            ("open", _("Open items")),
            ("overdue", _("Overdue items")),
            ("acknowledged", _("Referrals acknowledged")),
            ("median_ack_minutes", _("Median minutes to acknowledge")),
        ],
        rows,
        note=_(
            "Open items: referrals received and not finished, scheduled follow-ups, dispatch legs "
            "in progress, alerts handed over."
        ),
    )


# --- trends (趋势) -----------------------------------------------------------------------------


def weekly_trends(f: Filters, now: datetime) -> Table:
    """Calls, cases opened and dispatches per week (Monday to Sunday) in the period."""
    metrics = (rollup.CALLS, rollup.CASES_OPENED, rollup.DISPATCHES)
    totals = _rolled(f, metrics, ("metric", "day"), now)
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
    totals = _rolled(f, (rollup.CALL_HOURS,), ("key",), now, monthly=True)
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


TABLES = {
    "calls_now": calls_now,
    "operators_now": operators_now,
    "open_dispatches": open_dispatches,
    "open_alerts": open_alerts_by_severity,
    "open_cases_by_stage": open_cases_by_stage,
    "open_cases_by_risk": open_cases_by_risk,
    "open_cases_by_district": open_cases_by_district,
    "time_in_stage": time_in_stage,
    "overdue_referrals": overdue_referrals,
    "follow_ups": follow_ups_overdue_or_lost,
    "high_risk_no_contact": high_risk_no_contact,
    "repeat_callers": repeat_callers,
    "responsibilities": responsibilities,
    "weekly_trends": weekly_trends,
    "call_pattern": call_pattern,
}


def dashboard(f: Filters, now: datetime | None = None) -> dict[str, Table]:
    now = now or timezone.now()
    rollup.clear_tail_cache()
    try:
        return {key: fn(f, now) for key, fn in TABLES.items()}
    finally:
        rollup.clear_tail_cache()


# --- drill-down (coordinators) ----------------------------------------------------------------

DRILL_DOWNS = ("stage", "risk", "district", "no_contact", "overdue_referral", "overdue_follow_up")


def drill_down_cases(user, f: Filters, kind: str, value: str, now: datetime):
    """The open cases behind a dashboard number, limited to the user's own organisations."""
    from clinics.models import FollowUp, FollowUpState
    from referrals.models import Referral, ReferralState

    if kind not in DRILL_DOWNS:
        raise Invalid(_("Unknown drill-down."), code="invalid_drill_down", fields={"kind": [kind]})
    if kind == "no_contact":
        qs = _no_contact_cases(f, now)
        if value:
            qs = qs.filter(district=_district(value))
    else:
        qs = _open_cases(f)
    if kind == "stage":
        if value not in OPEN_STAGES:
            raise Invalid(_("Unknown stage."), code="invalid_drill_down", fields={"value": [value]})
        qs = qs.filter(stage=value)
    elif kind == "risk":
        if value not in Risk.values:
            raise Invalid(_("Unknown risk."), code="invalid_drill_down", fields={"value": [value]})
        qs = qs.filter(risk=value)
    elif kind == "district":
        qs = qs.filter(district=_district(value))
    elif kind == "overdue_referral":
        qs = qs.filter(
            Exists(
                Referral.objects.filter(
                    case=OuterRef("pk"), state=ReferralState.SENT, ack_due_at__lte=now
                )
            )
        )
    elif kind == "overdue_follow_up":
        qs = qs.filter(
            Exists(
                FollowUp.objects.filter(
                    case=OuterRef("pk"), state=FollowUpState.SCHEDULED, due_at__lt=now
                )
            )
        )
    orgs = drill_down_organisation_ids(user)
    if orgs is not None:
        qs = qs.filter(owning_organisation__in=orgs)
    return qs.select_related("person", "owning_organisation").order_by("opened_at", "pk")


def _district(code: str) -> Region:
    district = districts().filter(code=code).first()
    if district is None:
        raise Invalid(
            _("No such district or county."), code="invalid_drill_down", fields={"value": [code]}
        )
    return district
