"""The one-screen view's queries (一屏总览): one function per dashboard table.

Every function takes the parsed ``Filters`` and ``now`` and returns a ``Table`` of counts,
durations and organisation/district names only: nothing here carries a person's name, a phone
number or a note, because decision makers read all of it. Drill-downs to cases are separate
(``drill_down_cases``) and only for coordinators and administrators.

``live`` holds the tables of what is in hand now, read through partial or narrow indexes;
``trends`` the period tables, read from the daily rollup; ``common`` the filters and access
rules they share; ``drill_down`` the case lists.
"""

from datetime import datetime

from django.utils import timezone

from dashboard import rollup
from dashboard.selectors.common import (
    CONTACT_EVENT_TYPES,
    DASHBOARD_ROLES,
    Filters,
    Table,
    dashboard_role,
    districts,
    drill_down_organisation_ids,
    parse_filters,
)
from dashboard.selectors.drill_down import DRILL_DOWNS, drill_down_cases
from dashboard.selectors.live import (
    calls_and_callbacks,
    calls_now,
    contacts_by_channel,
    follow_ups_overdue_or_lost,
    high_risk_no_contact,
    open_alerts_by_severity,
    open_cases_by_district,
    open_cases_by_risk,
    open_cases_by_stage,
    open_dispatches,
    operators_now,
    overdue_referrals,
    responsibilities,
)
from dashboard.selectors.overflow import overflow_by_centre
from dashboard.selectors.prevention import prevention_by_district, screening_campaigns
from dashboard.selectors.trends import call_pattern, repeat_callers, time_in_stage, weekly_trends

__all__ = [
    "CONTACT_EVENT_TYPES",
    "DASHBOARD_ROLES",
    "DRILL_DOWNS",
    "TABLES",
    "Filters",
    "Table",
    "dashboard",
    "dashboard_role",
    "districts",
    "drill_down_cases",
    "drill_down_organisation_ids",
    "parse_filters",
]


TABLES = {
    "calls_now": calls_now,
    "calls_and_callbacks": calls_and_callbacks,
    "contacts_by_channel": contacts_by_channel,
    "operators_now": operators_now,
    "overflow_by_centre": overflow_by_centre,
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
    "screening_campaigns": screening_campaigns,
    "prevention_by_district": prevention_by_district,
}


def dashboard(f: Filters, now: datetime | None = None) -> dict[str, Table]:
    now = now or timezone.now()
    rollup.clear_tail_cache()
    try:
        return {key: fn(f, now) for key, fn in TABLES.items()}
    finally:
        rollup.clear_tail_cache()
