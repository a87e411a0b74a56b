"""The live tables (实时态势, 闭环, 预警, 责任落实): what is in hand now, read from the live rows
through partial or narrow indexes, so their cost follows the work in hand, not the years of
history. Where a table also shows a period figure it reads the rollup (``trends.rolled``)."""

from collections import defaultdict
from dataclasses import replace
from datetime import datetime, timedelta

from django.db.models import Count, Exists, Min, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from dashboard import rollup
from dashboard.selectors.common import (
    CONTACT_EVENT_TYPES,
    HIGH_RISKS,
    LIVE_CALL_STATUSES,
    Filters,
    Table,
    case_filter,
    district_names,
    district_of,
    district_rows,
    minutes_or_none,
    of_filtered_cases,
    open_cases,
    without_parallel_workers,
)
from dashboard.selectors.trends import rolled
from directory.models import Organisation
from hotline.models import OPEN_STAGES, Risk, Stage

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


def calls_and_callbacks(f: Filters, now: datetime) -> Table:
    """Calls today and in the period, the abandoned ones, and their call-backs (回拨): open now,
    done today and in the period. Counted from the calls and call-back tasks themselves."""
    from hotline.models import Call, CallbackTask, CallChannel, CallStatus

    calls = Call.objects.exclude(channel=CallChannel.CALLBACK)  # work, not demand
    tasks = CallbackTask.objects.all()
    if f.organisation:
        calls = calls.filter(hotline=f.organisation)
        tasks = tasks.filter(abandoned_call__hotline=f.organisation)
    today = rollup.day_start(rollup.local_day(now))
    start = rollup.day_start(f.date_from)
    end = rollup.day_start(f.date_to + timedelta(days=1))
    abandoned = Q(status=CallStatus.ABANDONED)
    figures = calls.aggregate(
        calls_today=Count("pk", filter=Q(queued_at__gte=today)),
        abandoned_today=Count("pk", filter=abandoned & Q(queued_at__gte=today)),
        calls_period=Count("pk", filter=Q(queued_at__gte=start, queued_at__lt=end)),
        abandoned_period=Count("pk", filter=abandoned & Q(queued_at__gte=start, queued_at__lt=end)),
    )
    done = Q(status=CallbackTask.Status.DONE)
    figures |= tasks.aggregate(
        callbacks_open=Count("pk", filter=Q(status=CallbackTask.Status.OPEN)),
        callbacks_done_today=Count("pk", filter=done & Q(done_at__gte=today)),
        callbacks_done_period=Count("pk", filter=done & Q(done_at__gte=start, done_at__lt=end)),
    )
    labels = {
        "calls_today": _("Calls today"),
        "abandoned_today": _("Abandoned calls today"),
        "callbacks_open": _("Call-backs open"),
        "callbacks_done_today": _("Call-backs done today"),
        "calls_period": _("Calls in the period"),
        "abandoned_period": _("Abandoned calls in the period"),
        "callbacks_done_period": _("Call-backs done in the period"),
    }
    rows = [
        {"measure": label, "code": code, "value": figures[code]} for code, label in labels.items()
    ]
    return Table(
        "calls_and_callbacks",
        _("Calls and call-backs"),
        [("measure", _("Measure")), ("value", _("Value"))],
        rows,
    )


def contacts_by_channel(f: Filters, now: datetime) -> Table:
    """Contacts (calls and text conversations) today and in the period, by channel: the phone
    line, SMS, web chat, walk-ins... Call-backs are the centre's own work, not contacts."""
    from hotline.models import Call, CallChannel

    calls = Call.objects.exclude(channel=CallChannel.CALLBACK)
    if f.organisation:
        calls = calls.filter(hotline=f.organisation)
    today = rollup.day_start(rollup.local_day(now))
    start = rollup.day_start(f.date_from)
    end = rollup.day_start(f.date_to + timedelta(days=1))
    counts = {
        row["channel"]: row
        for row in calls.filter(queued_at__gte=min(today, start))
        .values("channel")
        .annotate(
            today=Count("pk", filter=Q(queued_at__gte=today)),
            period=Count("pk", filter=Q(queued_at__gte=start, queued_at__lt=end)),
        )
        .order_by()
    }
    rows = [
        {
            "channel": str(label),
            "code": code,
            "today": counts.get(code, {}).get("today", 0),
            "period": counts.get(code, {}).get("period", 0),
        }
        for code, label in CallChannel.choices
        if code != CallChannel.CALLBACK
    ]
    return Table(
        "contacts_by_channel",
        _("Contacts by channel"),
        [("channel", _("Channel")), ("today", _("Today")), ("period", _("In the period"))],
        rows,
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
        .filter(case_filter(f, "dispatch__case__"))
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
    districts_by_path = district_names()
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
                "region": districts_by_path.get(district_of(region_path or ""), ""),
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


def _open_case_counts(f: Filters, by: str) -> dict:
    """Open cases per ``by`` (stage, risk or district): one GROUP BY read from the open cases'
    partial index (case_open_figures) alone, so it costs the open cases, not the years."""
    return dict(open_cases(f).values_list(by).annotate(n=Count("*")).order_by())


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
        district_rows(_open_case_counts(f, "district")),
    )


# --- early warning (预警) ----------------------------------------------------------------------


def overdue_referrals(f: Filters, now: datetime) -> Table:
    """Referrals past their acknowledgement deadline, by receiving organisation."""
    from referrals.models import Referral, ReferralState

    (qs,) = of_filtered_cases(
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
    with without_parallel_workers():
        for part in of_filtered_cases(qs, f, "case", follow_ups=True):
            for org, n in part.values_list("organisation_id").annotate(n=Count("*")).order_by():
                overdue[org] += n
    lost = {
        org: n for (org,), n in rolled(f, (rollup.FOLLOW_UP_LOST,), ("organisation",), now).items()
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


def no_contact_cases(f: Filters, now: datetime):
    from hotline.models import Case
    from realtime.models import Event

    cutoff = now - timedelta(days=f.no_contact_days)
    # Event ids grow with time: the first id at the cutoff turns "contact since the cutoff" into
    # an index range on (case, id) for each high-risk case instead of a scan of its timeline.
    first_id = (
        Event.objects.filter(at__gte=cutoff).order_by("at").values_list("id", flat=True).first()
    )
    qs = (
        Case.objects.open().filter(risk__in=HIGH_RISKS, opened_at__lt=cutoff).filter(case_filter(f))
    )
    if first_id is None:
        return qs
    contact = Event.objects.filter(
        case=OuterRef("pk"), id__gte=first_id, type__in=CONTACT_EVENT_TYPES
    )
    return qs.filter(~Exists(contact))


def high_risk_no_contact(f: Filters, now: datetime) -> Table:
    """High/imminent-risk open cases with no contact in ``no_contact_days``, by district."""
    counted = no_contact_cases(f, now).values_list("district").annotate(n=Count("*"))
    counts = dict(counted.order_by())
    return Table(
        "high_risk_no_contact",
        _("High-risk people with no contact in %(days)s days") % {"days": f.no_contact_days},
        [("district", _("District/county")), ("cases", _("Cases"))],
        district_rows(counts),
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
        # Open and overdue in one pass over the open items; counting no id lets the partial
        # indexes of the open items answer without the rows (the late ones: by organisation,
        # never null in a group kept).
        if f.organisation:
            qs = qs.filter(**{org_field: f.organisation})
        parts = of_filtered_cases(qs, f, case, follow_ups=follow_ups) if case else [qs]
        for part in parts:
            counted = (
                part.values_list(org_field)
                .annotate(n=Count("*"), late=Count(org_field, filter=late))
                .order_by()
            )
            for org, n, n_late in counted:
                if org:
                    open_items[org] += n
                    overdue[org] += n_late

    # One transaction for the four counts, not one each.
    with without_parallel_workers():
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
    for (org, key), n in rolled(
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
                "median_ack_minutes": minutes_or_none(median),
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
