"""Must show (issue 16): a compressed month of hotline work through the public API only.

Calls come in as signed Twilio webhooks from a seeded mix of numbers (repeat callers, withheld
numbers, callers who hang up); operators, counsellors, the hospital, responders and coordinators
act with their knox tokens. The month is four weeks and two days: within each week the work is
done through the API, then the worker runs at the week's end (``housekeeping``, ``poll_sources``
and the timers with an explicit ``now``, as the deadline tests move the clock). Whatever was due
before that moment and not done is a missed deadline and must have alerted the right party;
whatever was done in time must not have. At each week's end and at the month's end: every open
case has an owner and a due next step, no case has two follow-up plans, every abandoned call from
a real number has a call-back, withheld empty cases are closed, and the dashboard (read with a
token) equals what we count in the database ourselves.
"""

import random
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from clinics.models import FollowUp
from dashboard import rollup
from escalation.models import Alert, Dispatch, DispatchLeg
from escalation.sources import housekeeping, poll_sources
from escalation.worker import run_until_idle
from hotline.models import Call, CallbackTask, Case
from referrals.models import Referral
from tests.escalation.conftest import responders  # noqa: F401 (fixture)
from tests.hotline.conftest import SCREEN_NONE

SEED = 16
WEEKS = [7, 7, 7, 7, 2]  # days: a 30-day month
CALLS_A_WEEK = [17, 16, 16, 16, 6]  # 71 calls
REAL_NUMBERS = 42
WITHHELD = "Anonymous"

SCREENS = {
    "none": SCREEN_NONE,
    "low": {**SCREEN_NONE, "wish_to_be_dead": True, "active_thoughts": False},
    "moderate": {**SCREEN_NONE, "behaviour_ever": True},
    "high": {**SCREEN_NONE, "harm_to_others": True},
    "imminent": {**SCREEN_NONE, "in_danger_now": True},
}
OPEN_REFERRAL = ["sent", "acknowledged", "scheduled", "attended"]


def _ok(response, status=200):
    assert response.status_code == status, (response.status_code, response.content[:600])
    return response.json()


class Month:
    """The scenario's own bookkeeping: what it did, what it left undone on purpose."""

    def __init__(self):
        self.figures = Counter()
        self.missed = {}  # (kind, subject id) -> expected target (user, organisation)
        self.met = set()  # (kind, subject id)
        self.checkpoints = []


@pytest.mark.timeout(400)  # a month of work on a loaded CI machine
@pytest.mark.django_db
def test_a_month_through_the_api(
    client,
    client_for,
    twilio,
    network,
    responders,  # noqa: F811
    operator,
    counsellor_a,
    counsellor_b,
    nurse,
    coordinator,
    decision_maker,
    responder,
    settings,
):
    rng = random.Random(SEED)
    month = Month()
    figures = month.figures
    ops, boss = client_for(operator), client_for(coordinator)
    by_org = {
        network["hotline"].pk: ops,
        network["centre_a"].pk: client_for(counsellor_a),
        network["centre_b"].pk: client_for(counsellor_b),
        network["hospital"].pk: client_for(nurse),
        network["police"].pk: client_for(responder),
        responders["community"].pk: client_for(responders["community_worker"]),
        responders["experts"].pk: client_for(responders["expert"]),
    }
    counsellors = {network["centre_a"].pk: counsellor_a, network["centre_b"].pk: counsellor_b}
    numbers = [f"+86139{rng.randrange(10**7, 10**8)}" for _ in range(REAL_NUMBERS)]
    high_risk_repeat = numbers[0]  # calls every week: high risk, in care
    sid = iter(range(10**6))
    left_idle, to_finish_late = [], []

    def set_available():
        _ok(ops.put("/api/v1/operators/me/presence/", {"status": "available"}, format="json"))

    def ring(phone):
        call_sid = f"CA{next(sid):032d}"
        params = {"CallSid": call_sid, "From": phone, "To": "+865722251885"}
        params["CallStatus"] = "ringing"
        assert twilio.post(client, "/twilio/voice/incoming/", params).status_code == 200
        figures["calls"] += 1
        return Call.objects.get(call_sid=call_sid)

    def hang_up(call):
        params = {"CallSid": call.call_sid, "CallStatus": "completed"}
        assert twilio.post(client, "/twilio/voice/status/", params).status_code == 204
        figures["abandoned"] += 1
        figures["abandoned_withheld" if not call.from_number else "abandoned_real"] += 1

    def open_referral(call):
        call.refresh_from_db()
        return Referral.objects.filter(case=call.case_id, state__in=OPEN_REFERRAL).first()

    def open_dispatch(call):
        return Dispatch.objects.filter(case=call.case_id).exclude(status="closed").exists()

    def triage(call, level, *, accept=True):
        """Accept (unless a call-back already is), triage as the rules allow, wrap up."""
        if accept:
            _ok(ops.post(f"/api/v1/calls/{call.pk}/accept/"))
        if level == "imminent" and open_dispatch(call):
            level = "high"  # already under a one-key dispatch: the caller is in hand
        disposition = {"imminent": "emergency", "high": "refer"}.get(level, "resolved")
        if open_referral(call) is not None and level != "imminent":
            disposition = "continue_referral"  # already in care: no second referral
        body = {**SCREENS[level], "disposition": disposition, "location": "月河街12号"}
        answer = _ok(ops.post(f"/api/v1/calls/{call.pk}/triage/", body, format="json"))
        _ok(ops.post(f"/api/v1/calls/{call.pk}/wrap-up/", {}, format="json"))
        figures[f"disposition_{disposition}"] += 1
        if answer["dispatch"]:
            dispatch_legs(answer["dispatch"]["id"])
        return answer

    def dispatch_legs(dispatch_id):
        """The operator gives the place; each responder acknowledges at once, but one leg in
        three dispatches is left past its deadline (acknowledged late, at the week's end)."""
        where = {"region": network["village"].code, "address": "月河街12号"}
        _ok(ops.post(f"/api/v1/dispatches/{dispatch_id}/location/", where, format="json"))
        figures["dispatches"] += 1
        legs = DispatchLeg.objects.filter(dispatch=dispatch_id).order_by("pk")
        for n, leg in enumerate(legs):
            figures["dispatch_legs"] += 1
            if n == 0 and figures["dispatches"] % 3 == 0:
                month.missed[("dispatch_leg_unacknowledged", leg.pk)] = (None, leg.organisation_id)
                to_finish_late.append(("leg", leg.pk))
                continue
            acknowledge_leg(leg)
            month.met.add(("dispatch_leg_unacknowledged", leg.pk))

    def acknowledge_leg(leg):
        api = by_org.get(leg.organisation_id)
        if api is None:  # nobody of theirs has the app: the operator reached them by phone
            _ok(ops.post(f"/api/v1/dispatch-legs/{leg.pk}/reached-by-phone/"))
        else:
            _ok(api.post(f"/api/v1/dispatch-legs/{leg.pk}/acknowledge/"))

    def close_dispatches():
        """Responders report each leg to the hand-over; the operator closes the dispatch."""
        for dispatch in Dispatch.objects.exclude(status="closed").order_by("pk"):
            legs = list(dispatch.legs.order_by("pk"))
            if any(leg.state == "notified" for leg in legs):
                continue
            for leg in legs:
                api = by_org.get(leg.organisation_id, ops)
                for state in ("en_route", "on_scene", "done"):
                    body = {"state": state, "note": ""}
                    _ok(api.post(f"/api/v1/dispatch-legs/{leg.pk}/progress/", body, format="json"))
            body = {"outcome": "person_reached", "help_reached": True, "note": "已送医"}
            _ok(ops.post(f"/api/v1/dispatches/{dispatch.pk}/close/", body, format="json"))
            figures["dispatches_closed"] += 1

    def care_work():
        """Counsellors take referrals (one a week too late), run courses one session a week
        (continue, continue, completed; or a green channel to the hospital, which the hospital
        takes the same day)."""
        take_referrals()
        for referral in Referral.objects.filter(
            kind="counselling", state__in=["acknowledged", "scheduled", "attended"]
        ).order_by("pk"):
            course_step(referral)
        take_referrals()  # the green channels the sessions just sent

    def take_referrals():
        for referral in Referral.objects.filter(state="sent").order_by("pk"):
            if ("referral", referral.pk) in to_finish_late:
                continue
            api = by_org[referral.receiver_id]
            if referral.kind == "green_channel":
                _ok(api.post(f"/api/v1/referrals/{referral.pk}/acknowledge/"))
                month.met.add(("referral_overdue", referral.pk, referral.ack_due_at.isoformat()))
                admitted = _ok(
                    api.post(
                        "/api/v1/admissions/",
                        {"referral": referral.pk, "ward": "青少年病区", "bed": "12"},
                        format="json",
                    ),
                    201,
                )
                figures["admissions"] += 1
                to_finish_late.append(("discharge", admitted["id"]))
                continue
            if ("referral_late", referral.pk) in to_finish_late or (
                figures["referrals_seen"] % 5 == 2
            ):
                figures["referrals_seen"] += 1
                month.missed[("referral_overdue", referral.pk, referral.ack_due_at.isoformat())] = (
                    None,
                    referral.receiver_id,
                )
                to_finish_late.append(("referral", referral.pk))
                continue
            figures["referrals_seen"] += 1
            _ok(api.post(f"/api/v1/referrals/{referral.pk}/acknowledge/"))
            month.met.add(("referral_overdue", referral.pk, referral.ack_due_at.isoformat()))

    def course_step(referral):
        api, counsellor = by_org[referral.receiver_id], counsellors[referral.receiver_id]
        booked = referral.appointments.filter(status="booked").order_by("pk").last()
        if booked is None:
            if referral.state != "acknowledged":
                return
            body = {"slot": new_slot(api, counsellor)}
            _ok(api.post(f"/api/v1/referrals/{referral.pk}/schedule/", body, format="json"), 201)
            figures["appointments"] += 1
            return
        held = referral.appointments.filter(status="attended").count()
        if referral.pk % 4 == 0 and held == 0:
            outcome = "green_channel"
        else:
            outcome = "continue" if held < 2 else "completed"
        body = {"appointment": booked.pk, "notes": f"第{held + 1}次面谈", "outcome": outcome}
        if outcome == "continue":
            body["next_slot"] = new_slot(api, counsellor)
            figures["appointments"] += 1
        _ok(api.post("/api/v1/sessions/", body, format="json"), 201)
        figures[f"session_{outcome}"] += 1
        if outcome == "green_channel":
            transfer = {
                "case": referral.case_id,
                "kind": "green_channel",
                "receiver": network["hospital"].pk,
                "service": "youth_ward",
                "consent": True,
                "reason": "绿色通道住院",
                "parent": referral.pk,
            }
            _ok(api.post("/api/v1/referrals/", transfer, format="json"), 201)
            figures["green_channel"] += 1
            done = {"outcome": "转诊住院"}
            _ok(api.post(f"/api/v1/referrals/{referral.pk}/complete/", done, format="json"))

    def new_slot(api, counsellor):
        """The counsellor opens a 50-minute slot in their diary (one hour apart)."""
        figures["slots"] += 1
        starts = timezone.now().replace(microsecond=0) + timedelta(days=1, hours=figures["slots"])
        body = {
            "counsellor": counsellor.pk,
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(minutes=50)).isoformat(),
        }
        return _ok(api.post("/api/v1/slots/", body, format="json"), 201)["id"]

    def follow_ups_due(until, missed_one):
        """Every follow-up due before the week's end is made, one a week forgotten; some need a
        second attempt."""
        due = FollowUp.objects.filter(state="scheduled", due_at__lte=until).order_by("due_at")
        for n, follow_up in enumerate(due):
            if missed_one and n == 1:
                month.missed[("follow_up_overdue", follow_up.pk)] = (
                    follow_up.assignee_id,
                    None if follow_up.assignee_id else follow_up.organisation_id,
                )
                to_finish_late.append(("follow_up", follow_up.pk))
                continue
            follow_up_done(follow_up)
            month.met.add(("follow_up_overdue", follow_up.pk))

    def follow_up_done(follow_up):
        api = by_org[follow_up.organisation_id]
        url = f"/api/v1/follow-ups/{follow_up.pk}/attempts/"
        if follow_up.pk % 3 == 0:
            _ok(api.post(url, {"outcome": "no_answer", "notes": "无人接听"}, format="json"))
            figures["follow_up_attempts_failed"] += 1
        _ok(api.post(url, {"outcome": "reached", "notes": "情况稳定"}, format="json"))
        figures["follow_ups_done"] += 1

    def callbacks(leave_one):
        """Operators work the call-back queue: reached (triaged), no answer then reached later,
        declined; one a week is left past its due time."""
        tasks = CallbackTask.objects.filter(status="open").order_by("pk")
        for n, task in enumerate(tasks):
            if leave_one and n == 0 and not task.attempts.exists():
                month.missed[("callback_overdue", task.pk)] = (None, network["hotline"].pk)
                to_finish_late.append(("callback", task.pk))
                continue
            callback(task)
            month.met.add(("callback_overdue", task.pk))

    def callback(task):
        url = f"/api/v1/callbacks/{task.pk}/"
        outcome = rng.choice(["reached", "reached", "no_answer", "declined"])
        if outcome == "no_answer":
            call = _ok(ops.post(url + "take/"))
            _ok(ops.post(url + "attempts/", {"outcome": "no_answer"}, format="json"))
            figures["callback_no_answer"] += 1
            outcome = "reached"
        call = _ok(ops.post(url + "take/"))
        _ok(ops.post(url + "attempts/", {"outcome": outcome}, format="json"))
        figures[f"callback_{outcome}"] += 1
        if outcome == "reached":
            triage(Call.objects.get(pk=call["id"]), rng.choice(["none", "low"]), accept=False)

    def decide_idle(leave_one):
        """Cases with nothing open: the coordinator closes them, one a week is left to idle."""
        idle = Case.objects.open().filter(next_step_kind="decide").order_by("pk")
        for n, case in enumerate(idle):
            if not case.calls.exclude(from_number="").exists():
                continue  # a withheld number's empty case: the worker closes it
            if leave_one and n == 0 and case.pk not in left_idle:
                left_idle.append(case.pk)
                owner = case.owner_id
                org = None if owner else case.owning_organisation_id
                month.missed[("case_idle", case.pk)] = (owner, org)
                continue
            body = {"reason": "处置完毕，结案"}
            _ok(boss.post(f"/api/v1/cases/{case.pk}/close/", body, format="json"))
            if case.pk not in left_idle:  # one left idle was missed (and alerted) already
                month.met.add(("case_idle", case.pk))
            figures["cases_closed_by_coordinator"] += 1

    def finish_late():
        """What was left undone is done now, late (after its alert)."""
        for what, pk in list(to_finish_late):
            if what == "leg":
                leg = DispatchLeg.objects.get(pk=pk)
                if leg.state == "notified":
                    acknowledge_leg(leg)
            elif what == "referral":
                referral = Referral.objects.get(pk=pk)
                if referral.state == "sent":
                    _ok(by_org[referral.receiver_id].post(f"/api/v1/referrals/{pk}/acknowledge/"))
            elif what == "follow_up":
                follow_up = FollowUp.objects.get(pk=pk)
                if follow_up.state == "scheduled":
                    follow_up_done(follow_up)
            elif what == "callback":
                task = CallbackTask.objects.get(pk=pk)
                if task.status == "open":
                    callback(task)
            elif what == "discharge":
                body = {"summary": "病情稳定", "follow_up_plan": "门诊复诊，每月一次"}
                _ok(
                    by_org[network["hospital"].pk].post(
                        f"/api/v1/admissions/{pk}/discharge/", body, format="json"
                    )
                )
                figures["discharges"] += 1
        to_finish_late.clear()

    def worker(at):
        """The worker at a moment: its housekeeping, the alert sources, the timers."""
        housekeeping(at)
        poll_sources(at)
        run_until_idle(now=at)

    def checkpoint(name, at):
        check_alerts(month)
        check_invariants(name)
        figures["checkpoints"] += 1
        month.checkpoints.append(name)

    def check_invariants(name):
        open_cases = Case.objects.open()
        orphans = [
            c.pk
            for c in open_cases
            if not (c.responsible_role and c.responsible_organisation_id)
            or not c.next_step
            or c.next_step_due is None
        ]
        assert orphans == [], (name, orphans)
        plans = Counter(
            FollowUp.objects.filter(state="scheduled").values_list("case_id", "sequence")
        )
        assert [key for key, n in plans.items() if n > 1] == [], name
        per_case = Counter(
            FollowUp.objects.filter(state="scheduled").values_list("case_id", flat=True)
        )
        assert max(per_case.values(), default=0) <= 3, (name, per_case)
        abandoned = Call.objects.filter(status="abandoned", channel="twilio_voice")
        real = abandoned.exclude(from_number="")
        without_task = real.exclude(pk__in=CallbackTask.objects.values("abandoned_call"))
        assert list(without_task.values_list("pk", flat=True)) == [], name
        withheld_open = (
            open_cases.filter(calls__in=abandoned.filter(from_number=""))
            .filter(summary="", risk="none")
            .exclude(calls__status__in=["completed", "in_progress", "wrap_up"])
        )
        assert list(withheld_open.values_list("pk", flat=True)) == [], name
        check_dashboard(name)

    def check_dashboard(name):
        now = timezone.now()
        data = _ok(client_for(decision_maker).get("/dashboard/data.json"))["tables"]
        calls = {r["code"]: r["value"] for r in data["calls_and_callbacks"]["rows"]}
        today = rollup.day_start(rollup.local_day(now))
        demand = Call.objects.exclude(channel="callback")
        assert calls["calls_today"] == demand.filter(queued_at__gte=today).count(), name
        assert calls["calls_today"] == figures["calls"], name
        assert (
            calls["abandoned_today"]
            == demand.filter(status="abandoned", queued_at__gte=today).count()
            == figures["abandoned"]
        ), name
        assert calls["callbacks_open"] == CallbackTask.objects.filter(status="open").count()
        assert (
            calls["callbacks_done_today"]
            == CallbackTask.objects.filter(status="done", done_at__gte=today).count()
        ), name
        open_cases = Case.objects.open()
        by_stage = {r["code"]: r["cases"] for r in data["open_cases_by_stage"]["rows"]}
        for stage, n in by_stage.items():
            assert n == open_cases.filter(stage=stage).count(), (name, stage)
        assert sum(by_stage.values()) == open_cases.count(), name
        by_risk = {r["code"]: r["cases"] for r in data["open_cases_by_risk"]["rows"]}
        for risk, n in by_risk.items():
            assert n == open_cases.filter(risk=risk).count(), (name, risk)
        assert sum(by_risk.values()) == open_cases.count(), name
        overdue = sum(r["referrals"] for r in data["overdue_referrals"]["rows"])
        later = timezone.now()
        expected = Referral.objects.filter(state="sent", ack_due_at__lte=later).count()
        assert overdue == expected, name
        late = sum(r["overdue"] for r in data["follow_ups"]["rows"])
        assert late == FollowUp.objects.filter(state="scheduled", due_at__lt=later).count(), name
        alerts_open = sum(r["open"] + r["acknowledged"] for r in data["open_alerts"]["rows"])
        assert alerts_open == Alert.objects.exclude(state="resolved").count(), name
        figures["dashboard_figures_compared"] += 10 + len(by_stage) + len(by_risk)

    # --- the month, week by week ----------------------------------------------------------------
    start = timezone.now()
    day = 0
    for week, (days, n_calls) in enumerate(zip(WEEKS, CALLS_A_WEEK, strict=True)):
        set_available()
        for _ in range(n_calls):
            roll = rng.random()
            if week < 4 and _ == 0:
                phone = high_risk_repeat
            elif roll < 0.1:
                phone = WITHHELD
            else:
                phone = rng.choice(numbers)
            call = ring(phone)
            if phone == WITHHELD or rng.random() < 0.12:
                hang_up(call)
                continue
            if phone == high_risk_repeat:
                level = "high"
            elif _ == 1 and week < 3:
                level = "imminent"  # one emergency a week for three weeks
            else:
                level = rng.choices(
                    ["none", "low", "moderate", "high", "imminent"], [2, 3, 3, 3, 1]
                )[0]
            triage(call, level)
        figures["callback_calls"] = Call.objects.filter(channel="callback").count()
        care_work()
        close_dispatches()
        day += days
        end = start + timedelta(days=day)
        callbacks(leave_one=week in (1, 3))
        follow_ups_due(end, missed_one=week in (0, 2, 3))
        decide_idle(leave_one=week in (1, 2))
        figures["callback_calls"] = Call.objects.filter(channel="callback").count()
        worker(end)
        checkpoint(f"day {day}", end)
        finish_late()
        figures["callback_calls"] = Call.objects.filter(channel="callback").count()
    # The month ends: the worker once more, a day later, with everything late now done.
    month_end = start + timedelta(days=day + 1)
    decide_idle(leave_one=False)
    worker(month_end)
    checkpoint("month end", month_end)

    # --- the figures ------------------------------------------------------------------------------
    figures["people"] = len({c.from_number for c in Call.objects.exclude(from_number="")})
    figures["cases"] = Case.objects.count()
    figures["cases_open"] = Case.objects.open().count()
    figures["referrals"] = Referral.objects.count()
    figures["follow_ups"] = FollowUp.objects.count()
    figures["callbacks"] = CallbackTask.objects.count()
    figures["missed_deadlines"] = len(month.missed)
    figures["met_deadlines"] = len(month.met)
    alerts = Counter(Alert.objects.values_list("kind", flat=True))
    print("\nmonth scenario:", dict(sorted(figures.items())))
    print("alerts by kind:", dict(sorted(alerts.items())))
    print("missed deadlines by kind:", dict(Counter(key[0] for key in month.missed)))
    print("checkpoints:", month.checkpoints)
    assert figures["calls"] >= 70 and figures["abandoned"] >= 5 and figures["dispatches"] >= 3


def _subject(alert) -> tuple:
    data = alert.data or {}
    key = {
        "referral_overdue": "referral",
        "dispatch_leg_unacknowledged": "leg",
        "follow_up_overdue": "follow_up",
        "case_idle": "case",
        "callback_overdue": "callback",
    }.get(alert.kind)
    if alert.kind == "referral_overdue":  # one episode per acknowledgement clock
        return alert.kind, data.get(key), data.get("ack_due_at")
    return alert.kind, data.get(key) if key else None


def check_alerts(month):
    """Every missed deadline alerted, to the party answerable for it; none that was met."""
    raised = {}
    for alert in Alert.objects.all():
        raised.setdefault(_subject(alert), []).append(alert)
    absent = sorted(set(month.missed) - set(raised))
    assert absent == [], absent
    for key, (user, organisation) in month.missed.items():
        alert = raised[key][0]
        if user is not None:
            assert alert.target_user_id == user, (key, alert.target_user_id)
        else:
            assert alert.target_organisation_id == organisation, (key, alert.target_organisation_id)
    false_alarms = sorted(month.met & set(raised))
    assert false_alarms == [], false_alarms
