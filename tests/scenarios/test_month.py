"""Must show (issue 16): a compressed month of hotline work through the public API only.

Calls come in as signed Twilio webhooks; operators, counsellors, responders and coordinators
act with their tokens; the worker's poll is run at the moments deadlines fall due (the clock is
moved by passing ``now``, as the deadline tests do). Some deadlines are missed on purpose.
Then: every open case has an owner and a due next step, no case has two follow-up plans, every
missed deadline raised an alert and no deadline met did, and the dashboard equals the database.
"""

from collections import Counter
from datetime import timedelta

from django.utils import timezone

from clinics.models import FollowUp
from escalation.models import Alert, Dispatch, DispatchLeg
from escalation.sources import poll_sources
from hotline.models import Call, CallbackTask, Case
from referrals.models import Referral
from tests.hotline.conftest import SCREEN_NONE

LOW = {**SCREEN_NONE, "wish_to_be_dead": True, "active_thoughts": False}
MODERATE = {**SCREEN_NONE, "behaviour_ever": True}
HIGH = {**SCREEN_NONE, "harm_to_others": True}
IMMINENT = {**SCREEN_NONE, "in_danger_now": True}

# (screen, disposition) per caller; None: the caller hangs up before anyone answers.
CALLERS = [
    (LOW, "resolved"),
    (SCREEN_NONE, "resolved"),
    (MODERATE, "resolved"),
    (MODERATE, "resolved"),
    (MODERATE, "resolved"),
    (HIGH, "refer"),
    (HIGH, "refer"),
    (HIGH, "refer"),
    (IMMINENT, "emergency"),
    (IMMINENT, "emergency"),
    None,  # first-time caller, hangs up
    None,
    None,
]


def _ok(response, status=200):
    assert response.status_code == status, (response.status_code, response.content[:500])
    return response.json()


def test_a_month_through_the_api(
    client,
    client_for,
    twilio,
    network,
    operator,
    counsellor_a,
    coordinator,
    decision_maker,
    responder,
):
    ops, counsellor = client_for(operator), client_for(counsellor_a)
    police, boss = client_for(responder), client_for(coordinator)
    figures = Counter()
    missed, met = set(), set()  # ("kind", object id)

    def ring(sid, phone):
        params = {"CallSid": sid, "From": phone, "To": "+865722251885", "CallStatus": "ringing"}
        assert twilio.post(client, "/twilio/voice/incoming/", params).status_code == 200
        figures["calls"] += 1
        return Call.objects.get(call_sid=sid)

    def hang_up(sid):
        params = {"CallSid": sid, "CallStatus": "completed"}
        assert twilio.post(client, "/twilio/voice/status/", params).status_code == 204

    def answer(call, screen, disposition):
        _ok(ops.post(f"/api/v1/calls/{call.pk}/accept/"))
        body = {**screen, "disposition": disposition, "location": "月河街12号"}
        answer = _ok(ops.post(f"/api/v1/calls/{call.pk}/triage/", body, format="json"))
        _ok(ops.post(f"/api/v1/calls/{call.pk}/wrap-up/", {}, format="json"))
        return answer

    # --- week 1: the calls -----------------------------------------------------------------
    answers = {}
    for i, pattern in enumerate(CALLERS):
        sid, phone = f"CA{i:032d}", f"+86139000{i:05d}"
        call = ring(sid, phone)
        if pattern is None:
            hang_up(sid)
            figures["abandoned"] += 1
            continue
        answers[i] = (call, answer(call, *pattern))

    # Triage names what it created, so the client never looks it up.
    referrals = [a["referral"]["id"] for _c, a in answers.values() if a["referral"]]
    dispatches = [a["dispatch"]["id"] for _c, a in answers.values() if a["dispatch"]]
    follow_ups = [f["id"] for _c, a in answers.values() for f in a["follow_ups"]]
    assert sorted(referrals) == sorted(Referral.objects.values_list("pk", flat=True))
    assert sorted(dispatches) == sorted(Dispatch.objects.values_list("pk", flat=True))
    assert set(follow_ups) <= set(FollowUp.objects.values_list("pk", flat=True))
    figures["referrals"], figures["dispatches"] = len(referrals), len(dispatches)

    # --- referrals: two acknowledged in time, one missed ------------------------------------
    *in_time, late = Referral.objects.filter(pk__in=referrals).order_by("pk")
    for referral in in_time:
        _ok(counsellor.post(f"/api/v1/referrals/{referral.pk}/acknowledge/"))
        met.add(("referral_overdue", referral.pk))
    missed.add(("referral_overdue", late.pk))
    poll_sources(late.ack_due_at + timedelta(seconds=1))
    _ok(counsellor.post(f"/api/v1/referrals/{late.pk}/acknowledge/"))

    # --- dispatches: the police acknowledge the first at once; the second is missed ---------
    first, second = Dispatch.objects.filter(pk__in=dispatches).order_by("pk")
    for dispatch in (first, second):  # the operator learns where: the legs follow
        where = {"region": network["village"].code, "address": "月河街12号"}
        _ok(ops.post(f"/api/v1/dispatches/{dispatch.pk}/location/", where, format="json"))
    assert DispatchLeg.objects.filter(dispatch=second, organisation=network["police"]).exists()
    for leg in DispatchLeg.objects.filter(dispatch=first, organisation=network["police"]):
        _ok(police.post(f"/api/v1/dispatch-legs/{leg.pk}/acknowledge/"))
        met.add(("dispatch_leg_unacknowledged", leg.pk))
    for leg in DispatchLeg.objects.filter(dispatch=second, organisation=network["police"]):
        missed.add(("dispatch_leg_unacknowledged", leg.pk))
        poll_sources(leg.ack_deadline + timedelta(seconds=1))

    # --- follow-ups: the first of each plan; one case's is missed ---------------------------
    firsts = list(FollowUp.objects.filter(sequence=1).order_by("case_id"))
    figures["follow_ups"] = FollowUp.objects.count()
    *done, forgotten = firsts
    for follow_up in done:
        _ok(
            ops.post(
                f"/api/v1/follow-ups/{follow_up.pk}/attempts/",
                {"outcome": "reached", "notes": "情况稳定"},
                format="json",
            )
        )
        met.add(("follow_up_overdue", follow_up.pk))
    missed.add(("follow_up_overdue", forgotten.pk))
    poll_sources(forgotten.due_at + timedelta(seconds=1))

    # --- week 2: a high-risk caller already in care calls again -----------------------------
    repeat_call, _answer = answers[5]
    again = ring("CA" + "r" * 32, str(repeat_call.from_number))
    _ok(ops.post(f"/api/v1/calls/{again.pk}/accept/"))
    body = {**HIGH, "disposition": "continue_referral"}
    continued = ops.post(f"/api/v1/calls/{again.pk}/triage/", body, format="json")
    if continued.status_code == 200:
        _ok(ops.post(f"/api/v1/calls/{again.pk}/wrap-up/", {}, format="json"))

    # --- the month ends: the worker runs once more, a day later -----------------------------
    month_end = timezone.now() + timedelta(days=1)
    alerts = {(a.kind, _subject(a)) for a in Alert.objects.all()}
    figures["missed_deadlines"] = len(missed)
    figures["alerts"] = Alert.objects.count()
    figures["callbacks"] = CallbackTask.objects.count()
    figures["cases"] = Case.objects.count()
    print("\nmonth scenario:", dict(sorted(figures.items())))

    # Every missed deadline alerted; none that was met.
    assert missed <= alerts, missed - alerts
    assert not (met & alerts), met & alerts

    # The dashboard's figures equal the database (through a decision maker's token).
    data = _ok(client_for(decision_maker).get("/dashboard/data.json"))["tables"]
    calls = {r["code"]: r["value"] for r in data["calls_and_callbacks"]["rows"]}
    demand = Call.objects.exclude(channel="callback")
    assert calls["calls_today"] == demand.count() == figures["calls"]
    assert calls["abandoned_today"] == demand.filter(status="abandoned").count()
    assert calls["callbacks_open"] == CallbackTask.objects.filter(status="open").count()
    by_risk = {r["code"]: r["cases"] for r in data["open_cases_by_risk"]["rows"]}
    open_cases = Case.objects.open()
    for risk, n in by_risk.items():
        assert n == open_cases.filter(risk=risk).count(), risk
    alerts_open = sum(r["open"] + r["acknowledged"] for r in data["open_alerts"]["rows"])
    assert alerts_open == Alert.objects.exclude(state="resolved").count()
    assert _ok(boss.get("/api/v1/alerts/?open=1&kind=follow_up_overdue"))["count"] >= 1

    # --- what the other pieces of issue 16 make true ----------------------------------------
    # A high-risk person already in care is disposed honestly: continue the referral.
    assert continued.status_code == 200, continued.content
    # Every abandoned call from a real number has a call-back task, first-time callers too.
    abandoned = Call.objects.filter(status="abandoned").exclude(from_number="")
    assert CallbackTask.objects.filter(abandoned_call__in=abandoned).count() == abandoned.count()
    # No case has two follow-up plans (two open follow-ups with the same place in a plan).
    plans = Counter(FollowUp.objects.filter(state="scheduled").values_list("case_id", "sequence"))
    assert [key for key, n in plans.items() if n > 1] == []
    # Every open case has an owner and a next step that is due.
    orphans = [
        c.pk
        for c in Case.objects.open()
        if not (c.responsible_role and c.responsible_organisation_id)
        or not c.next_step
        or c.next_step_due is None
    ]
    assert orphans == [], orphans
    assert month_end > timezone.now()


def _subject(alert) -> int | None:
    data = alert.data or {}
    return data.get("referral") or data.get("leg") or data.get("follow_up")
