"""The numbers: live tables, the rollup (stored and live tail agree), medians, early warning."""

from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.utils import timezone

from dashboard import rollup, selectors
from dashboard.models import DailyCount
from hotline.models import Call, Case, StageVisit
from realtime.models import Event
from referrals.models import Referral
from tests.factories import CaseFactory, PersonFactory, RegionFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 18, 10, 0, tzinfo=SHANGHAI)  # a Wednesday


def rows(table, key="code"):
    return {r[key]: r for r in table.rows}


def filters(**params):
    return selectors.parse_filters(params, now=NOW)


def _call(hotline, at, *, person=None, case=None, sid=None):
    return Call.objects.create(
        call_sid=sid or f"CA{Call.objects.count()}-{at:%Y%m%d%H%M}",
        hotline=hotline,
        status="completed",
        queued_at=at,
        person=person,
        case=case,
    )


@pytest.fixture
def history(network):
    """Calls, cases and stays in the weeks before NOW, in Wuxing (吴兴区) and Deqing (德清县)."""
    hotline = network["hotline"]
    person = PersonFactory(home_region=network["village"])
    case = CaseFactory(
        person=person,
        owning_organisation=hotline,
        risk="high",
        opened_at=NOW - timedelta(days=20),
    )
    # 23:30 Shanghai on a Monday is 15:30 UTC: the hour pattern must use local time.
    monday_night = datetime(2026, 3, 2, 23, 30, tzinfo=SHANGHAI)
    for i in range(3):
        _call(hotline, monday_night + timedelta(minutes=i), person=person, case=case)
    other = PersonFactory(home_region=network["deqing"])
    # Every call has a case (intake opens one); the rollup splits calls by the case's district.
    other_case = CaseFactory(
        person=other, owning_organisation=hotline, opened_at=NOW - timedelta(days=60)
    )
    _call(hotline, NOW - timedelta(days=1, hours=1), person=other, case=other_case)
    _call(hotline, NOW - timedelta(minutes=30), person=other, case=other_case)  # today: live
    for hours in (1, 2, 30):
        entered = NOW - timedelta(days=10)
        StageVisit.objects.create(
            case=case,
            stage="intervention",
            entered_at=entered,
            left_at=entered + timedelta(hours=hours),
        )
    return {"case": case, "person": person, "other": other}


def test_open_cases_by_stage_risk_and_district(hotline_case, network):
    table = selectors.open_cases_by_district(filters(), NOW)
    by_name = {r["district"]: r["cases"] for r in table.rows}
    assert by_name == {"吴兴区": 1, "德清县": 0}
    assert rows(selectors.open_cases_by_risk(filters(), NOW))["moderate"]["cases"] == 1
    assert (
        rows(selectors.open_cases_by_stage(filters(district="330521"), NOW))["discovery"]["cases"]
        == 0
    )
    assert rows(selectors.open_cases_by_stage(filters(risk="high"), NOW))["discovery"]["cases"] == 0


OPEN_CASE_TABLES = {
    "stage": selectors.open_cases_by_stage,
    "risk": selectors.open_cases_by_risk,
    "district": selectors.open_cases_by_district,
}
NARROWED = ({}, {"risk": "high"}, {"district": "330521"}, {"organisation": "centre-a"})


def _shown(**params) -> dict:
    """What the three open-case tables show, groups of none left out."""
    f = filters(**params)
    return {
        by: {r["code"]: r["cases"] for r in table(f, NOW).rows if r["cases"]}
        for by, table in OPEN_CASE_TABLES.items()
    }


def _counted(**params) -> dict:
    """The same figures counted case by case from the case table."""
    counted = {by: Counter() for by in OPEN_CASE_TABLES}
    for case in Case.objects.select_related("district", "owning_organisation"):
        district = case.district.code if case.district else ""
        if (
            case.stage == "closed"
            or params.get("risk", case.risk) != case.risk
            or params.get("district", district) != district
            or params.get("organisation", case.owning_organisation.code)
            != case.owning_organisation.code
        ):
            continue
        counted["stage"][case.stage] += 1
        counted["risk"][case.risk] += 1
        counted["district"][district] += 1
    return {by: dict(c) for by, c in counted.items()}


def _agree() -> dict:
    for params in NARROWED:
        assert _shown(**params) == _counted(**params), params
    return _shown()


def test_the_open_case_tables_follow_every_way_a_case_changes(
    network, operator, coordinator, hotline_case
):
    from hotline import services

    assert _agree() == {
        "stage": {"discovery": 1},
        "risk": {"moderate": 1},
        "district": {"330502": 1},
    }
    services.set_risk(operator, hotline_case, "high")
    assert _agree()["risk"] == {"high": 1}
    services.advance_case(operator, hotline_case, "intervention")
    assert _agree()["stage"] == {"intervention": 1}
    # Moving house: Person.save moves every case's district with one bulk UPDATE.
    deqing_village = RegionFactory(
        code="330521001001", name="某村", level="village", parent=network["deqing"]
    )
    services.update_person(operator, hotline_case.person, home_region=deqing_village)
    assert _agree()["district"] == {"330521": 1}
    assert _shown(district="330521")["risk"] == {"high": 1}
    # A call from a new number opens a case of no district.
    call = services.enter_manual_call(operator, channel="walk_in", from_number="+8613900000888")
    assert call.case.district is None and call.case.pk != hotline_case.pk
    assert _agree()["district"] == {"330521": 1, "": 1}
    services.close_case(coordinator, hotline_case, reason="done")
    assert _agree()["district"] == {"": 1}
    hotline_case.refresh_from_db()
    services.reopen_case(coordinator, hotline_case, reason="called again")
    assert _agree()["district"] == {"330521": 1, "": 1}
    # A bulk update and a delete bypass every save.
    Case.objects.update(owning_organisation=network["centre_a"])
    assert _shown(organisation="centre-a")["district"] == {"330521": 1, "": 1}
    assert _shown(organisation="hotline")["district"] == {}
    extra = CaseFactory(person=PersonFactory(), owning_organisation=network["centre_a"])
    assert sum(_agree()["stage"].values()) == 3
    extra.delete()
    assert sum(_agree()["stage"].values()) == 2


def _figures():
    f = filters(**{"from": "2026-01-01", "to": "2026-03-18"})
    return {
        key: selectors.TABLES[key](f, NOW).rows
        for key in ("weekly_trends", "call_pattern", "time_in_stage", "repeat_callers")
    }


def test_the_rollup_and_the_live_count_agree(history):
    rollup.clear_tail_cache()
    live = _figures()
    written = rollup.refresh(now=NOW)
    assert written > 0
    assert rollup.mark() == NOW.date() - timedelta(days=1)
    assert DailyCount.objects.filter(metric=rollup.CALLS).exists()
    rollup.clear_tail_cache()
    assert _figures() == live
    # Refreshing again rewrites this week's days to the same rows; a rebuild changes nothing.
    stored = sorted(DailyCount.objects.values_list("day", "metric", "key", "n"))
    rollup.refresh(now=NOW)
    assert sorted(DailyCount.objects.values_list("day", "metric", "key", "n")) == stored
    rollup.rebuild(now=NOW)
    rollup.clear_tail_cache()
    assert _figures() == live


def test_weekly_trends_and_the_local_hour_pattern(history):
    f = filters(**{"from": "2026-03-01", "to": "2026-03-18"})
    weeks = {r["week"]: r for r in selectors.weekly_trends(f, NOW).rows}
    assert weeks["2026-03-02"]["calls"] == 3
    assert weeks["2026-03-16"]["calls"] == 2  # yesterday and today (live)
    assert weeks["2026-03-16"]["cases_opened"] == 0
    pattern = {r["weekday"]: r for r in selectors.call_pattern(f, NOW).rows}
    assert pattern["Mon"]["h23"] == 3
    assert pattern["Mon"]["h15"] == 0


def test_median_time_in_stage_is_within_a_band(history):
    table = rows(selectors.time_in_stage(filters(), NOW))
    assert table["intervention"]["stays"] == 3
    assert 1.6 <= table["intervention"]["median_hours"] <= 2.4  # the true median is 2 h
    assert table["treatment"]["median_hours"] is None


def test_repeat_callers_are_counted_per_week(history, settings):
    settings.DASHBOARD_REPEAT_CALLS = 3
    weeks = {r["week"]: r["people"] for r in selectors.repeat_callers(filters(), NOW).rows}
    assert weeks["2026-03-02"] == 1
    assert weeks["2026-03-09"] == 0
    assert len(weeks) == 12


def test_filters_narrow_the_rollup(history):
    rollup.refresh(now=NOW)
    rollup.clear_tail_cache()
    f = filters(**{"from": "2026-03-01", "to": "2026-03-18", "district": "330521"})
    weeks = {r["week"]: r for r in selectors.weekly_trends(f, NOW).rows}
    assert weeks["2026-03-02"]["calls"] == 0
    assert weeks["2026-03-16"]["calls"] == 2


def test_high_risk_people_without_contact(history, network):
    case = history["case"]
    no_contact = selectors.high_risk_no_contact(filters(), NOW)
    assert {r["district"]: r["cases"] for r in no_contact.rows}["吴兴区"] == 1
    Event.objects.create(type="follow_up.attempted", case=case, at=NOW - timedelta(days=2))
    no_contact = selectors.high_risk_no_contact(filters(), NOW)
    assert {r["district"]: r["cases"] for r in no_contact.rows}["吴兴区"] == 0
    longer = selectors.high_risk_no_contact(filters(no_contact_days="1"), NOW)
    assert {r["district"]: r["cases"] for r in longer.rows}["吴兴区"] == 1


def test_overdue_referrals_and_responsibilities(history, network):
    case = history["case"]
    Referral.objects.create(
        case=case,
        kind="counselling",
        sender=network["hotline"],
        receiver=network["centre_a"],
        urgency="high",
        sent_at=NOW - timedelta(hours=2),
        ack_due_at=NOW - timedelta(hours=1, minutes=45),
    )
    acked = Referral.objects.create(
        case=case,
        kind="counselling",
        sender=network["hotline"],
        receiver=network["centre_b"],
        urgency="high",
        sent_at=NOW - timedelta(days=3),
        ack_due_at=NOW - timedelta(days=3) + timedelta(minutes=15),
        state="acknowledged",
        acknowledged_at=NOW - timedelta(days=3) + timedelta(minutes=10),
    )
    overdue = selectors.overdue_referrals(filters(), NOW)
    assert [(r["code"], r["referrals"]) for r in overdue.rows] == [("centre-a", 1)]
    assert overdue.rows[0]["oldest_minutes_late"] == 105
    duty = {r["organisation"]: r for r in selectors.responsibilities(filters(), NOW).rows}
    assert duty[network["centre_a"].name]["open"] == 1
    assert duty[network["centre_a"].name]["overdue"] == 1
    assert duty[network["centre_b"].name]["overdue"] == 0
    assert 8 <= duty[network["centre_b"].name]["median_ack_minutes"] <= 12
    assert acked.pk


def test_the_rollup_command(history):
    call_command("dashboard_rollup", "--rebuild")
    assert rollup.mark() == rollup.local_day(timezone.now()) - timedelta(days=1)
    call_command("dashboard_rollup", "--since", "2026-03-01")
    assert DailyCount.objects.filter(metric=rollup.CALLS, day="2026-03-02").exists()


def test_the_worker_hook_refreshes_once_a_day_has_closed(history, settings):
    settings.DASHBOARD_ROLLUP_EVERY = 0
    rollup.worker_hook(NOW)
    assert rollup.mark() == NOW.date() - timedelta(days=1)


def _live_calls_in_tail(now):
    rollup.clear_tail_cache()
    return sum(r.n for r in rollup.tail_rows(now) if r.metric == rollup.CALLS)


def test_the_intraday_refresh_stores_today_so_a_page_counts_only_the_minutes_after(
    history, network, settings
):
    settings.DASHBOARD_ROLLUP_LAG = 60
    rollup.clear_tail_cache()
    live = _figures()
    assert _live_calls_in_tail(NOW) == 5  # nothing stored yet: all counted for every page
    rollup.refresh(now=NOW)
    assert _live_calls_in_tail(NOW) == 1
    assert rollup.refresh_today(NOW) > 0
    assert rollup.coverage() == (NOW.date() - timedelta(days=1), NOW - timedelta(seconds=60))
    assert DailyCount.objects.filter(metric=rollup.CALLS, day=NOW.date()).exists()
    assert _live_calls_in_tail(NOW) == 0
    rollup.clear_tail_cache()
    assert _figures() == live
    # A call after the cut is counted live, and once only; it makes a third call this week.
    _call(network["hotline"], NOW - timedelta(seconds=30), person=history["other"])
    assert _live_calls_in_tail(NOW) == 1
    rollup.clear_tail_cache()
    weeks = {r["week"]: r for r in selectors.weekly_trends(filters(), NOW).rows}
    assert weeks["2026-03-16"]["calls"] == 3
    repeat = {r["week"]: r["people"] for r in selectors.repeat_callers(filters(), NOW).rows}
    assert repeat["2026-03-16"] == 1  # from the stored week so far plus the late call
    assert not DailyCount.objects.filter(metric=rollup.REPEAT_CALLERS, n__gt=0, day="2026-03-16")
    rollup.refresh_today(NOW + timedelta(minutes=5))
    assert DailyCount.objects.get(metric=rollup.REPEAT_CALLERS, day="2026-03-16").n == 1
    _call(network["hotline"], NOW + timedelta(minutes=6), person=history["other"])
    rollup.clear_tail_cache()
    later = NOW + timedelta(minutes=7)
    repeat = {r["week"]: r["people"] for r in selectors.repeat_callers(filters(), later).rows}
    assert repeat["2026-03-16"] == 1  # a fourth call: still one person
    # The day closes: it is recounted whole, its partial rows replaced, nothing twice.
    tomorrow = NOW + timedelta(days=1)
    rollup.clear_tail_cache()
    before = {r["week"]: r for r in selectors.weekly_trends(filters(), tomorrow).rows}
    rollup.refresh(now=tomorrow)
    assert rollup.coverage() == (NOW.date(), rollup.day_start(tomorrow.date()))
    rollup.clear_tail_cache()
    after = {r["week"]: r for r in selectors.weekly_trends(filters(), tomorrow).rows}
    assert after == before
    assert after["2026-03-16"]["calls"] == 4
    repeat = {r["week"]: r["people"] for r in selectors.repeat_callers(filters(), tomorrow).rows}
    assert repeat["2026-03-16"] == 1


def test_the_intraday_refresh_stops_before_a_call_still_live(history, network, settings):
    settings.DASHBOARD_ROLLUP_LAG = 60
    rollup.refresh(now=NOW)
    queued = NOW - timedelta(minutes=20)
    Call.objects.create(call_sid="CA-live", hotline=network["hotline"], queued_at=queued)
    rollup.refresh_today(NOW)
    assert rollup.coverage()[1] == queued  # its person and case may still be set
    assert _live_calls_in_tail(NOW) == 1
    rollup.clear_tail_cache()
    weeks = {r["week"]: r for r in selectors.weekly_trends(filters(), NOW).rows}
    assert weeks["2026-03-16"]["calls"] == 3


def test_the_worker_hook_also_stores_today_so_far(history, settings):
    settings.DASHBOARD_ROLLUP_EVERY = 0
    settings.DASHBOARD_ROLLUP_LAG = 60
    rollup.worker_hook(NOW)
    assert rollup.coverage() == (NOW.date() - timedelta(days=1), NOW - timedelta(seconds=60))


def test_the_worker_runs_the_rollup_with_its_periodic_jobs(db):
    from escalation import sources

    assert sources._periodic["dashboard_rollup"] is rollup.worker_hook
    assert "dashboard_rollup" not in sources.alert_sources()


@pytest.mark.postgres
def test_postgres_buckets_equal_the_portable_ones(history):
    """On PostgreSQL the duration bucket is ``width_bucket``; it must match the CASE form."""
    visits = StageVisit.objects.filter(left_at__isnull=False)
    fast = sorted(visits.annotate(b=rollup._bucket("entered_at", "left_at")).values_list("b"))
    expected = []
    for v in visits:
        minutes = (v.left_at - v.entered_at).total_seconds() / 60
        expected.append((sum(1 for b in rollup.BUCKET_BOUNDS if b <= minutes),))
    assert fast == sorted(expected)


def test_the_now_tables(network, hotline_case, operator):
    _call(network["hotline"], timezone.now() - timedelta(minutes=3), sid="CA-wait")
    calls = {r["measure"]: r["value"] for r in selectors.calls_now(filters(), timezone.now()).rows}
    assert calls["Calls waiting"] == 0  # created completed
    Call.objects.create(
        call_sid="CA-q", hotline=network["hotline"], queued_at=timezone.now() - timedelta(minutes=2)
    )
    calls = {r["measure"]: r["value"] for r in selectors.calls_now(filters(), timezone.now()).rows}
    assert calls["Calls waiting"] == 1
    assert 115 <= calls["Longest wait (seconds)"] <= 125
    alerts = selectors.open_alerts_by_severity(filters(), timezone.now())
    assert {r["code"] for r in alerts.rows} == {"info", "warning", "critical", "life_safety"}


def test_open_dispatch_legs_count_down_and_show_only_the_district(network, hotline_case):
    from escalation.models import Dispatch, DispatchLeg

    now = timezone.now()
    dispatch = Dispatch.objects.create(case=hotline_case, region=network["village"])
    DispatchLeg.objects.create(
        dispatch=dispatch,
        kind="police",
        organisation=network["police"],
        ack_deadline=now + timedelta(seconds=60),
    )
    (leg,) = selectors.open_dispatches(filters(), now).rows
    assert leg["region"] == "吴兴区"  # never the village
    assert leg["seconds_left"] == 60
    assert leg["state_code"] == "notified"
    duty = {r["organisation"]: r for r in selectors.responsibilities(filters(), now).rows}
    assert duty[network["police"].name]["open"] == 1
    assert duty[network["police"].name]["overdue"] == 0
    late = {
        r["organisation"]: r
        for r in selectors.responsibilities(filters(), now + timedelta(minutes=2)).rows
    }
    assert late[network["police"].name]["overdue"] == 1


def test_filtered_live_items_count_those_of_open_and_of_closed_cases(network):
    """The district/risk filters reach a follow-up through its case, open or not."""
    from clinics.models import FollowUp

    def follow_up(stage, risk, region):
        case = CaseFactory(
            person=PersonFactory(home_region=region),
            owning_organisation=network["hotline"],
            risk=risk,
            stage=stage,
        )
        return FollowUp.objects.create(
            case=case,
            organisation=network["centre_a"],
            reason="resolved_call",
            due_at=NOW - timedelta(days=1),
        )

    follow_up("follow_up", "high", network["village"])
    follow_up("closed", "high", network["village"])  # kept open past the close: still counted
    follow_up("follow_up", "low", network["village"])
    follow_up("follow_up", "high", network["deqing"])

    def overdue(**params):
        table = selectors.follow_ups_overdue_or_lost(filters(**params), NOW)
        return {r["organisation"]: r["overdue"] for r in table.rows}.get(network["centre_a"].name)

    def duty(**params):
        table = selectors.responsibilities(filters(**params), NOW)
        return {r["organisation"]: (r["open"], r["overdue"]) for r in table.rows}.get(
            network["centre_a"].name
        )

    assert overdue() == 4
    assert overdue(district="330502", risk="high") == 2
    assert overdue(district="330502") == 3
    assert overdue(risk="high") == 3
    assert overdue(district="330521", risk="low") is None
    assert duty(district="330502", risk="high") == (2, 2)
    assert duty(risk="high") == (3, 3)


def test_filtered_referrals_and_legs_rely_on_no_closed_case_holding_one(
    network, hotline_case, operator, coordinator
):
    """Filtered, referrals and dispatch legs are counted from the open cases alone: a closed
    case can hold neither. A live one holds the case open, and a closed case takes no new one."""
    from core.errors import Conflict
    from escalation import services as escalation
    from escalation.models import Dispatch, DispatchLeg
    from hotline import services as hotline
    from hotline.closing import reasons_case_cannot_close
    from referrals import services as referrals

    referral = Referral.objects.create(
        case=hotline_case,
        kind="counselling",
        sender=network["hotline"],
        receiver=network["centre_a"],
        urgency="high",
        sent_at=NOW,
        ack_due_at=NOW + timedelta(minutes=15),
    )
    dispatch = Dispatch.objects.create(case=hotline_case, region=network["village"])
    DispatchLeg.objects.create(
        dispatch=dispatch, kind="police", organisation=network["police"], ack_deadline=NOW
    )
    assert len(reasons_case_cannot_close(hotline_case)) == 2
    with pytest.raises(Conflict):
        hotline.close_case(coordinator, hotline_case, reason="done")

    Referral.objects.filter(pk=referral.pk).update(state="completed")
    Dispatch.objects.filter(pk=dispatch.pk).update(status="closed")
    DispatchLeg.objects.filter(dispatch=dispatch).update(state="done")
    assert reasons_case_cannot_close(hotline_case) == []
    hotline.close_case(coordinator, hotline_case, reason="done")
    hotline_case.refresh_from_db()
    with pytest.raises(Conflict, match="closed"):
        referrals.send_referral(
            operator, hotline_case, kind="counselling", receiver=network["centre_a"]
        )
    with pytest.raises(Conflict, match="closed"):
        escalation.create_dispatch(operator, hotline_case, address="月河街12号")


def _index_predicate_values(name: str) -> list[str]:
    import re

    from django.db import connection

    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [name])
        else:
            cur.execute("SELECT sql FROM sqlite_master WHERE name = %s", [name])
        (definition,) = cur.fetchone()
    return sorted(re.findall(r"'([a-z_.]+)'", definition.split("WHERE", 1)[1]))


def test_the_contact_index_lists_exactly_the_contact_event_types(db):
    """The partial index behind "no contact in N days" is only used while its predicate holds
    every type the query asks for: a new contact type needs a new migration."""
    from dashboard.selectors import CONTACT_EVENT_TYPES

    assert _index_predicate_values("event_contact") == sorted(CONTACT_EVENT_TYPES)


def test_the_live_referral_index_lists_exactly_the_active_states(db):
    """Likewise the index the responsibilities table counts live referrals from."""
    from referrals.models import ACTIVE_STATES

    assert _index_predicate_values("referral_active_receiver") == sorted(ACTIVE_STATES)


def test_the_month_so_far_is_read_from_its_sums(history):
    from datetime import date

    from dashboard.models import RollupMark

    rollup.refresh(now=NOW)  # through 17 March
    assert rollup.month_to_date()
    so_far = DailyCount.objects.filter(metric="stage_exit@mtd", day=date(2026, 3, 1))
    assert sum(so_far.values_list("n", flat=True)) == 3
    assert rows(selectors.time_in_stage(filters(), NOW))["intervention"]["stays"] == 3
    # The month's daily rows are not read: the page still has March's stays without them.
    DailyCount.objects.filter(metric="stage_exit", day__gte=date(2026, 3, 1)).delete()
    assert rows(selectors.time_in_stage(filters(), NOW))["intervention"]["stays"] == 3
    # A mark from before the sums were kept reads the days (here: none left).
    RollupMark.objects.update(month_to_date=False)
    assert rows(selectors.time_in_stage(filters(), NOW))["intervention"]["stays"] == 0
    # On a month's last day the month is whole: its monthly sum, no month-so-far rows.
    rollup.refresh(since=date(2026, 3, 1), through=date(2026, 3, 31), now=NOW)
    assert not DailyCount.objects.filter(metric__endswith="@mtd").exists()
    assert DailyCount.objects.filter(metric="stage_exit@m", day=date(2026, 3, 1)).exists()


def test_a_mark_from_before_the_month_so_far_sums_gets_them_at_the_next_refresh(history):
    from datetime import date

    from dashboard.models import RollupMark

    monday = datetime(2026, 3, 16, 10, 0, tzinfo=SHANGHAI)
    rollup.refresh(now=monday)  # through Sunday 15 March
    DailyCount.objects.filter(metric__endswith="@mtd").delete()
    RollupMark.objects.update(month_to_date=False)  # as an older version left it
    assert rollup.refresh(now=monday) > 0  # nothing new to count, but the sums are written
    assert rollup.month_to_date()
    assert DailyCount.objects.filter(metric="stage_exit@mtd", day=date(2026, 3, 1)).exists()


def test_cases_of_no_district_are_counted_on_a_row_of_their_own(network, operator):
    from hotline import services

    for region in (network["village"], None, network["city"]):
        person = services.create_person(operator, name="某人", home_region=region)
        services.open_case(operator, person=person, owning_organisation=network["hotline"])
    table = selectors.open_cases_by_district(filters(), NOW)
    assert [(r["district"], r["code"], r["cases"]) for r in table.rows] == [
        ("吴兴区", "330502", 1),
        ("德清县", "330521", 0),
        ("Unknown or outside the districts", "", 2),
    ]
