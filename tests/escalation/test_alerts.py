import json
from datetime import timedelta

from django.utils import timezone

from escalation import services, sources
from escalation.admin import EscalationPolicyForm
from escalation.models import Alert, DutyShift, EscalationPolicy, OutboundMessage, Timer
from escalation.services import AlertSpec
from realtime.models import Event


def _spec(network, **extra):
    return AlertSpec(
        dedup_key=extra.pop("dedup_key", "referral:1:ack"),
        kind=extra.pop("kind", "referral_overdue"),
        title=extra.pop("title", "Referral #1 not acknowledged"),
        target_organisation=network["centre_a"],
        target_role="counsellor",
        **extra,
    )


def _policy_form(steps) -> EscalationPolicyForm:
    data = {"name": "p", "alert_kind": "", "steps": json.dumps(steps), "max_rounds": 3}
    return EscalationPolicyForm(data=data)


def _notified(alert):
    return [
        (e.data["fired_round"], e.data["fired_step"], sorted(e.data["users"]))
        for e in Event.objects.filter(type="alert.notified", data__alert=alert.pk).order_by("id")
    ]


def test_a_policy_that_could_never_fire_is_refused(network, coordinator, counsellor_a):
    base = {"whom": "target", "how": ["console"], "wait": 60}
    fallback = {"whom": "on_duty_coordinator", "how": ["console", "sms"], "wait": 120}
    for steps in (
        [],
        [base],  # no fallback
        [{**base, "how": []}, fallback],  # no channel
        [{"whom": "user", "user": 999999, "how": ["sms"], "wait": 60}, fallback],
        [{**base, "wait": 0}, fallback],  # the next step could never fire apart
    ):
        form = _policy_form(steps)
        assert not form.is_valid() and form.errors["steps"], steps
    assert _policy_form([base, fallback]).is_valid()


def test_the_fallback_cannot_be_empty(network, counsellor_a):
    fallback = {"whom": "on_duty_coordinator", "how": ["console"], "wait": 60}
    form = _policy_form([fallback])
    assert not form.is_valid()
    assert any("fallback is empty" in e for e in form.errors["steps"])


def test_policies_are_validated_by_the_api_and_only_administrators_change_them(
    client_for, administrator, coordinator, operator
):
    bad = {"name": "p", "steps": [{"whom": "target", "how": ["console"], "wait": 5}]}
    response = client_for(administrator).post("/api/v1/escalation-policies/", bad, format="json")
    assert response.status_code == 400 and "steps" in response.json()["fields"]
    good = {
        "name": "p",
        "steps": [
            {"whom": "target", "how": ["console"], "wait": 5},
            {"whom": "on_duty_coordinator", "how": ["sms"], "wait": 5},
        ],
    }
    assert (
        client_for(coordinator)
        .post("/api/v1/escalation-policies/", good, format="json")
        .status_code
        == 403
    )
    assert client_for(operator).get("/api/v1/escalation-policies/").status_code == 403
    assert (
        client_for(administrator)
        .post("/api/v1/escalation-policies/", good, format="json")
        .status_code
        == 201
    )


def test_an_alert_escalates_step_by_step_and_repeats_widening_the_audience(
    network, counsellor_a, coordinator, run_worker
):
    from tests.factories import MembershipFactory, UserFactory

    nurse_like = UserFactory(username="centre_a_admin")
    MembershipFactory(user=nurse_like, organisation=network["centre_a"], role="coordinator")
    EscalationPolicy.objects.create(
        name="referrals",
        alert_kind="referral_overdue",
        max_rounds=2,
        steps=[
            {"whom": "target", "how": ["console"], "wait": 30},
            {"whom": "on_duty_coordinator", "how": ["console"], "wait": 30},
        ],
    )
    alert, created = services.raise_alert(_spec(network))
    assert created and alert.policy_snapshot["name"] == "referrals"
    t0 = timezone.now()
    run_worker(now=t0)
    run_worker(now=t0 + timedelta(seconds=31))
    run_worker(now=t0 + timedelta(seconds=62))
    run_worker(now=t0 + timedelta(seconds=93))
    run_worker(now=t0 + timedelta(seconds=500))
    fired = _notified(alert)
    assert [(r, s) for r, s, _u in fired] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert fired[0][2] == [counsellor_a.pk]
    # Round two reaches the whole organisation, not only the counsellors.
    assert set(fired[2][2]) == {counsellor_a.pk, nurse_like.pk}
    alert.refresh_from_db()
    assert alert.next_step_at is None and alert.state == "open"  # stopped: not life-safety


def test_a_life_safety_alert_never_stops_until_acknowledged(
    network, counsellor_a, coordinator, run_worker
):
    alert, _ = services.raise_alert(_spec(network, severity="life_safety"))
    t = timezone.now()
    for _n in range(12):
        run_worker(now=t)
        t += timedelta(seconds=200)
    rounds = {r for r, _s, _u in _notified(alert)}
    assert max(rounds) >= 3
    services.acknowledge_alert(counsellor_a, alert)
    before = len(_notified(alert))
    run_worker(now=t + timedelta(hours=1))
    assert len(_notified(alert)) == before


def test_the_policy_is_frozen_but_a_repeat_carries_the_current_data(
    network, counsellor_a, coordinator, run_worker
):
    counsellor_a.phone = "+8613900000099"
    counsellor_a.save()
    policy = EscalationPolicy.objects.create(
        name="p",
        steps=[
            {"whom": "target", "how": ["sms"], "wait": 30},
            {"whom": "on_duty_coordinator", "how": ["console"], "wait": 30},
        ],
    )
    alert, _ = services.raise_alert(_spec(network))
    t0 = timezone.now()
    run_worker(now=t0)
    policy.steps = [{"whom": "on_duty_coordinator", "how": ["console"], "wait": 999}]
    policy.save()
    Alert.objects.filter(pk=alert.pk).update(title="Referral #1 now 2 hours late")
    run_worker(now=t0 + timedelta(seconds=31))
    run_worker(now=t0 + timedelta(seconds=62))
    run_worker(now=t0 + timedelta(seconds=63))
    texts = list(
        OutboundMessage.objects.filter(alert=alert, channel="sms")
        .order_by("id")
        .values_list("body", flat=True)
    )
    assert len(texts) == 2  # the frozen policy's SMS step ran again in round two
    assert "not acknowledged" in texts[0] and "2 hours late" in texts[1]


def test_raising_the_same_thing_twice_is_one_alert(network, counsellor_a):
    first, created = services.raise_alert(_spec(network))
    again, created_again = services.raise_alert(_spec(network))
    assert created and not created_again and first.pk == again.pk
    assert Alert.objects.count() == 1
    assert Timer.objects.filter(alert=first).count() == 1


def test_sources_are_polled_and_deduplicated(network, counsellor_a, monkeypatch):
    calls = []

    def overdue_referrals(now):
        calls.append(now)
        yield _spec(network, dedup_key="referral:7:ack")

    monkeypatch.setitem(sources._sources, "referrals", overdue_referrals)
    assert sources.poll_sources(timezone.now()) == 1
    assert sources.poll_sources(timezone.now()) == 0
    assert len(calls) == 2 and Alert.objects.filter(dedup_key="referral:7:ack").count() == 1


def test_a_break_glass_read_raises_an_alert_for_the_coordinators(
    network, coordinator, hotline_case
):
    from hotline.services import grant_access

    grant_access(hotline_case, network["centre_b"], reason="break_glass", note="夜间急查")
    sources.poll_sources(timezone.now())
    alert = Alert.objects.get(kind="break_glass")
    assert alert.target_organisation == network["hotline"] and alert.target_role == "coordinator"


def test_the_on_duty_coordinator_is_the_rostered_one_else_every_coordinator(network, coordinator):
    from escalation.selectors import on_duty_coordinators
    from tests.factories import MembershipFactory, UserFactory

    second = UserFactory(username="coordinator2")
    MembershipFactory(user=second, organisation=network["hotline"], role="coordinator")
    assert set(on_duty_coordinators()) == {coordinator, second}
    now = timezone.now()
    DutyShift.objects.create(
        user=second,
        organisation=network["hotline"],
        role="coordinator",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=1),
    )
    assert on_duty_coordinators() == [second]


def test_alert_api_acknowledge_resolve_reassign_and_history(
    client_for, network, counsellor_a, counsellor_b, coordinator, run_worker
):
    alert, _ = services.raise_alert(_spec(network))
    run_worker()
    assert (
        client_for(counsellor_b).post(f"/api/v1/alerts/{alert.pk}/acknowledge/").status_code == 403
    )
    assert client_for(counsellor_b).get("/api/v1/alerts/").json()["results"] == []
    mine = client_for(counsellor_a)
    assert [a["id"] for a in mine.get("/api/v1/alerts/?open=1").json()["results"]] == [alert.pk]
    ack = mine.post(f"/api/v1/alerts/{alert.pk}/acknowledge/")
    assert ack.status_code == 200 and ack.json()["state"] == "acknowledged"
    assert mine.post(f"/api/v1/alerts/{alert.pk}/acknowledge/").status_code == 409
    boss = client_for(coordinator)
    past = boss.post(
        f"/api/v1/alerts/{alert.pk}/reassign/",
        {"organisation": network["centre_b"].pk, "due": "2000-01-01T00:00:00Z"},
        format="json",
    )
    assert past.status_code == 400
    due = timezone.now() + timedelta(hours=2)
    moved = boss.post(
        f"/api/v1/alerts/{alert.pk}/reassign/",
        {"organisation": network["centre_b"].pk, "due": due.isoformat()},
        format="json",
    )
    assert moved.status_code == 200
    assert mine.post(f"/api/v1/alerts/{alert.pk}/reassign/", {}, format="json").status_code in (
        400,
        403,
    )
    run_worker(now=due + timedelta(seconds=1))
    assert Alert.objects.filter(kind="assignment_overdue").count() == 1
    assert mine.post(f"/api/v1/alerts/{alert.pk}/resolve/", {"note": ""}).status_code == 400
    done = client_for(counsellor_b).post(
        f"/api/v1/alerts/{alert.pk}/resolve/", {"note": "已电话回访"}, format="json"
    )
    assert done.status_code == 200 and done.json()["resolution_note"] == "已电话回访"
    history = boss.get(f"/api/v1/alerts/{alert.pk}/history/").json()
    types = [h["type"] for h in history]
    assert types[0] == "alert.raised" and "alert.reassigned" in types
    assert types[-1] == "alert.resolved"


def test_an_alert_acknowledged_by_sms_reply(
    client, network, counsellor_a, coordinator, twilio, run_worker
):
    counsellor_a.phone = "+8613900000077"
    counsellor_a.save()
    alert, _ = services.raise_alert(_spec(network))
    run_worker()
    reply = twilio.post(
        client,
        "/twilio/sms/incoming/",
        {"MessageSid": "SM77", "From": "+8613900000077", "Body": "1"},
    )
    assert "已确认" in reply.content.decode()
    alert.refresh_from_db()
    assert alert.state == "acknowledged" and alert.acknowledged_by == counsellor_a


def test_a_failed_send_is_retried_with_backoff_and_shown(
    network, counsellor_a, coordinator, twilio, run_worker
):
    counsellor_a.phone = "+8613900000088"
    counsellor_a.save()
    services.raise_alert(_spec(network))
    twilio.http.responses.append((500, {"message": "upstream down", "code": 20500}))
    t0 = timezone.now() + timedelta(seconds=1)
    run_worker(now=t0)
    message = OutboundMessage.objects.get(channel="sms")
    assert message.status == "failed" and message.attempts == 1 and message.last_error
    assert Event.objects.filter(type="message.failed").exists()
    run_worker(now=t0 + timedelta(seconds=5))
    assert OutboundMessage.objects.get(pk=message.pk).status == "failed"
    run_worker(now=t0 + timedelta(seconds=11))
    message.refresh_from_db()
    assert message.status == "sent" and message.attempts == 2


def test_readiness_reports_a_stale_or_missing_worker(db, settings, monkeypatch):
    from escalation import worker
    from escalation.models import WorkerHeartbeat

    monkeypatch.setattr(worker, "_process_started", timezone.now())
    assert worker.heartbeat_problem() is None  # within the start-up grace period
    monkeypatch.setattr(worker, "_process_started", timezone.now() - timedelta(hours=1))
    assert "ever run" in worker.heartbeat_problem()
    worker.beat("w1", timezone.now(), 0)
    assert worker.heartbeat_problem() is None
    WorkerHeartbeat.objects.update(beat_at=timezone.now() - timedelta(minutes=5))
    assert "stale" in worker.heartbeat_problem()


def test_the_coordinator_board_shows_open_alerts_with_their_countdown(
    client, network, coordinator, counsellor_a, operator
):
    services.raise_alert(_spec(network, title="转介超时未确认"))
    client.force_login(coordinator)
    page = client.get("/coordination/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "转介超时未确认" in html and 'class="next-step"' in html
    client.force_login(operator)
    assert client.get("/coordination/").status_code == 403
