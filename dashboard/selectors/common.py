"""What every dashboard table shares: who may read what, the filters, the table shape, and
the narrowing of live items to the filtered cases."""

from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Invalid
from dashboard import rollup
from directory.access import is_administrator, memberships
from directory.models import Organisation, Region, RegionLevel, Role
from hotline.models import Risk

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


def case_filter(f: Filters, prefix: str = "") -> Q:
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


def of_filtered_cases(items, f: Filters, case: str, *, follow_ups: bool = False) -> list:
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
    passing = items.filter(**{f"{case}__in": open_cases(f).values("pk")})
    stray = closed_cases_with_follow_ups() if follow_ups else []
    if not stray:
        return [passing]
    return [passing, items.filter(**{f"{case}__in": stray}).filter(case_filter(f, case + "__"))]


def closed_cases_with_follow_ups() -> list[int]:
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
def without_parallel_workers():
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


def district_names() -> dict[str, str]:
    return {r.path: r.name for r in districts()}


def district_of(path: str | None) -> str:
    path = path or ""
    return path[: rollup.DISTRICT_PATH_LENGTH] if len(path) >= rollup.DISTRICT_PATH_LENGTH else ""


def district_rows(counts: dict) -> list[dict]:
    """One row per district/county from cases counted by district id, plus one for the cases
    of none when there are any."""
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


def minutes_or_none(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def open_cases(f: Filters):
    from hotline.models import Case

    # "stage <> 'closed'", the predicate of the partial indexes case_open_*figures.
    return Case.objects.open().filter(case_filter(f))
