"""Presence follows the person: consoles that are gone sign the operator off, lapsed offers are
told and counted, callers nobody can answer alert a coordinator."""

from datetime import timedelta

import pytest
from django.utils import timezone

from escalation.models import Alert
from escalation.sources import housekeeping, poll_sources
from hotline import services
from hotline.models import Call, OperatorPresence
from realtime.models import ConsoleSession, Event


@pytest.fixture(autouse=True)
def presence_settings(settings):
    settings.HOTLINE_PRESENCE_GRACE_SECONDS = 30
    settings.HOTLINE_MISSED_OFFERS_BREAK = 2
    settings.HOTLINE_WAIT_ALERT_SECONDS = 60
    settings.REALTIME_HEARTBEAT_SECONDS = 25
    settings.REALTIME_HEARTBEAT_MISSES = 2


def console(user, *, closed_ago=None, seen_ago=0):
    """A console session of ``user``: closed ``closed_ago`` seconds ago, or open and last
    touched ``seen_ago`` seconds ago (as the consumer writes them)."""
    now = timezone.now()
    return ConsoleSession.objects.create(
        user=user,
        channel_name=f"test.{user.pk}.{ConsoleSession.objects.count()}",
        connected_at=now - timedelta(hours=1),
        last_seen_at=now - timedelta(seconds=closed_ago or seen_ago),
        closed_at=now - timedelta(seconds=closed_ago) if closed_ago is not None else None,
    )


def available(*users):
    for user in users:
        services.set_presence(user, status="available")
    # As if they became available a while ago: the grace also runs from the last change.
    OperatorPresence.objects.filter(user__in=users).update(
        since=timezone.now() - timedelta(minutes=5)
    )


def status(user) -> str:
    return OperatorPresence.objects.get(user=user).status


def lapse(call):
    Call.objects.filter(pk=call.pk).update(offer_expires_at=timezone.now() - timedelta(seconds=1))
    housekeeping(timezone.now())
    call.refresh_from_db()
    return call


# --- the grace period -------------------------------------------------------------------------


def test_a_console_gone_within_the_grace_leaves_the_operator_available(operator):
    available(operator)
    console(operator, closed_ago=10)
    housekeeping(timezone.now())
    assert status(operator) == "available"


def test_a_console_gone_longer_than_the_grace_sets_the_operator_offline(operator):
    available(operator)
    console(operator, closed_ago=31)
    housekeeping(timezone.now())
    assert status(operator) == "offline"
    event = Event.objects.filter(type="operator.presence_changed").last()
    assert event.data["status"] == "offline" and event.data["reason"] == "console_gone"
    audiences = set(event.audience_rows.values_list("audience", flat=True))
    assert f"user:{operator.pk}" in audiences


def test_a_server_that_died_is_known_by_its_silent_heartbeats(operator):
    """No disconnect ever arrives when the process dies: the session's touches stop."""
    available(operator)
    console(operator, seen_ago=60)  # 2.4 heartbeats: still within the allowed misses
    housekeeping(timezone.now())
    assert status(operator) == "available"
    ConsoleSession.objects.update(last_seen_at=timezone.now() - timedelta(seconds=80))
    housekeeping(timezone.now())
    assert status(operator) == "offline"


def test_a_reload_does_not_flap_the_operator_offline(operator):
    """The old socket closed long ago, but the reloaded page's socket is open."""
    available(operator)
    console(operator, closed_ago=120)
    console(operator, seen_ago=5)
    housekeeping(timezone.now())
    assert status(operator) == "available"
    assert not Event.objects.filter(type="operator.presence_changed", data__reason="console_gone")


def test_an_operator_on_a_call_keeps_the_call_when_the_console_goes(operator):
    available(operator)
    call = services.enter_manual_call(operator, channel="walk_in")
    services.accept_call(operator, call)
    console(operator, closed_ago=300)
    housekeeping(timezone.now())
    assert status(operator) == "on_call"


def test_an_operator_who_never_had_a_console_is_left_as_they_said(operator):
    """An API client or a phone-only operator: nothing is known of a console."""
    available(operator)
    housekeeping(timezone.now())
    assert status(operator) == "available"


def test_the_grace_runs_from_the_last_status_change_too(operator):
    console(operator, closed_ago=300)
    services.set_presence(operator, status="available")
    housekeeping(timezone.now())
    assert status(operator) == "available"


# --- the offer path -------------------------------------------------------------------------


def test_an_offline_operator_is_never_offered_a_call(operator, operator2):
    available(operator, operator2)
    services.set_presence(operator, status="offline")
    call = services.enter_manual_call(operator2, channel="walk_in")
    call.refresh_from_db()
    assert call.offered_to == operator2


def test_nobody_offline_is_offered_even_when_nobody_else_is_there(operator):
    services.set_presence(operator, status="offline")
    call = services.enter_manual_call(operator, channel="walk_in")
    housekeeping(timezone.now())
    call.refresh_from_db()
    assert call.status == "queued" and call.offered_to is None


def test_an_operator_whose_consoles_all_closed_is_passed_over_within_the_grace(operator, operator2):
    available(operator, operator2)
    OperatorPresence.objects.filter(user=operator).update(
        last_idle_at=timezone.now() - timedelta(hours=1)  # longest idle: would be first
    )
    console(operator, closed_ago=3)
    call = services.enter_manual_call(operator2, channel="walk_in")
    call.refresh_from_db()
    assert call.offered_to == operator2
    assert status(operator) == "available"


def test_an_operator_signed_off_for_a_gone_console_loses_the_offer_to_someone_present(
    operator, operator2
):
    available(operator)
    call = services.enter_manual_call(operator, channel="walk_in")
    call.refresh_from_db()
    assert call.offered_to == operator
    available(operator2)
    console(operator, closed_ago=31)
    housekeeping(timezone.now())
    call.refresh_from_db()
    assert status(operator) == "offline"
    assert call.status == "offered" and call.offered_to == operator2
    assert Event.objects.filter(type="call.offer_withdrawn").count() == 1
    assert OperatorPresence.objects.get(user=operator).missed_offers == 0


def test_a_console_that_comes_back_gets_the_waiting_call_from_housekeeping(operator):
    available(operator)
    session = console(operator, closed_ago=3)
    call = services.enter_manual_call(operator, channel="walk_in")
    call.refresh_from_db()
    assert call.status == "queued"
    ConsoleSession.objects.filter(pk=session.pk).update(closed_at=None, last_seen_at=timezone.now())
    housekeeping(timezone.now())
    call.refresh_from_db()
    assert call.offered_to == operator


# --- lapsed offers ----------------------------------------------------------------------------


def test_a_lapsed_offer_goes_back_tells_the_operator_and_leaves_them_available(operator, operator2):
    available(operator)
    call = services.enter_manual_call(operator, channel="walk_in")
    call.refresh_from_db()
    assert call.offered_to == operator
    available(operator2)
    call = lapse(call)
    assert status(operator) == "available"
    assert OperatorPresence.objects.get(user=operator).missed_offers == 1
    notice = Event.objects.get(type="call.offer_expired")
    assert notice.data["missed_by"] == operator.pk and notice.data["missed_in_a_row"] == 1
    assert notice.data["put_on_break"] is False
    assert f"user:{operator.pk}" in notice.audience_rows.values_list("audience", flat=True)
    # It went to the one who had not just missed it.
    assert call.offered_to == operator2
    assert not Alert.objects.filter(kind="operator_missed_offers").exists()


def test_answering_a_call_ends_a_run_of_missed_offers(operator):
    available(operator)
    call = services.enter_manual_call(operator, channel="walk_in")
    call = lapse(call)
    assert call.offered_to == operator  # nobody else: back to the same operator
    services.accept_call(operator, call)
    assert OperatorPresence.objects.get(user=operator).missed_offers == 0


def test_two_lapses_in_a_row_put_the_operator_on_a_break_and_alert_the_coordinator(
    operator, coordinator, network
):
    available(operator)
    call = services.enter_manual_call(operator, channel="walk_in")
    call = lapse(call)
    assert status(operator) == "available" and call.offered_to == operator
    call = lapse(call)
    assert status(operator) == "break"
    assert call.status == "queued" and call.offered_to is None
    changed = Event.objects.filter(type="operator.presence_changed").last()
    assert changed.data["status"] == "break" and changed.data["reason"] == "missed_offers"
    assert Event.objects.filter(type="call.offer_expired").last().data["put_on_break"] is True
    [alert] = Alert.objects.filter(kind="operator_missed_offers")
    assert alert.target_role == "coordinator"
    assert alert.target_organisation == OperatorPresence.objects.get(user=operator).hotline
    assert alert.data["operator"] == operator.pk
    assert Event.objects.filter(type="alert.raised", data__alert=alert.pk).exists()
    poll_sources(timezone.now())
    assert Alert.objects.filter(kind="operator_missed_offers").count() == 1
    # The operator says they are back: the alert resolves itself.
    services.set_presence(operator, status="available")
    poll_sources(timezone.now())
    alert.refresh_from_db()
    assert alert.state == "resolved" and alert.resolved_by is None


# --- callers nobody answers -------------------------------------------------------------------


def waited(call, seconds):
    Call.objects.filter(pk=call.pk).update(queued_at=timezone.now() - timedelta(seconds=seconds))


def test_a_caller_waiting_past_the_threshold_with_nobody_available_alerts_once(
    operator, coordinator, network
):
    call = services.enter_manual_call(operator, channel="walk_in")
    second = services.enter_manual_call(operator, channel="walk_in")
    waited(call, 59)
    housekeeping(timezone.now())
    assert not Alert.objects.filter(kind="caller_waiting").exists()
    waited(call, 61)
    waited(second, 61)
    for _ in range(3):
        housekeeping(timezone.now())
        poll_sources(timezone.now())
    [alert] = Alert.objects.filter(kind="caller_waiting")
    assert alert.target_role == "coordinator" and alert.severity == "critical"
    assert alert.data["call"] == call.pk and alert.data["waiting"] == 2
    raised = Event.objects.get(type="alert.raised", data__alert=alert.pk)
    assert any(
        a.startswith("orgrole:") for a in raised.audience_rows.values_list("audience", flat=True)
    )


def test_the_wait_alert_resolves_itself_when_the_caller_is_answered(operator, coordinator):
    call = services.enter_manual_call(operator, channel="walk_in")
    waited(call, 90)
    housekeeping(timezone.now())
    alert = Alert.objects.get(kind="caller_waiting")
    services.accept_call(operator, call)
    housekeeping(timezone.now())
    alert.refresh_from_db()
    assert alert.state == "resolved" and alert.resolved_by is None


def test_the_wait_alert_resolves_itself_when_the_caller_hangs_up(operator, coordinator):
    call = services.enter_manual_call(operator, channel="walk_in")
    waited(call, 90)
    housekeeping(timezone.now())
    alert = Alert.objects.get(kind="caller_waiting")
    services.call_status_changed(None, call_sid=call.call_sid, twilio_status="completed")
    housekeeping(timezone.now())
    alert.refresh_from_db()
    assert alert.state == "resolved"


def test_the_next_caller_left_waiting_is_a_new_episode(operator, coordinator):
    first = services.enter_manual_call(operator, channel="walk_in")
    second = services.enter_manual_call(operator, channel="walk_in")
    waited(first, 90)
    waited(second, 30)
    housekeeping(timezone.now())
    services.accept_call(operator, first)
    housekeeping(timezone.now())
    assert Alert.objects.filter(kind="caller_waiting").count() == 1
    waited(second, 61)
    housekeeping(timezone.now())
    assert Alert.objects.filter(kind="caller_waiting").count() == 2
    assert Alert.objects.get(kind="caller_waiting", state="open").data["call"] == second.pk


def test_no_wait_alert_while_an_operator_is_available(operator, operator2, coordinator):
    available(operator2)
    services.set_presence(operator, status="break")
    first = services.enter_manual_call(operator, channel="walk_in")  # offered to operator2
    second = services.enter_manual_call(operator, channel="walk_in")  # queued: a long queue
    waited(first, 120)
    waited(second, 120)
    housekeeping(timezone.now())
    poll_sources(timezone.now())
    assert not Alert.objects.filter(kind="caller_waiting").exists()


def test_an_available_operator_whose_console_is_gone_does_not_count(operator, coordinator):
    available(operator)
    console(operator, closed_ago=5)
    call = services.enter_manual_call(operator, channel="walk_in")
    waited(call, 61)
    housekeeping(timezone.now())
    assert Alert.objects.filter(kind="caller_waiting").count() == 1


# --- the consumer keeps the sessions ----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_the_console_socket_opens_touches_and_closes_its_session(operator, settings):
    from channels.db import database_sync_to_async

    from tests.realtime.conftest import ORIGIN, _token, communicator

    settings.REALTIME_HEARTBEAT_SECONDS = 0.2
    token = await _token(operator)
    ws = communicator(
        "/ws/console/", [(b"origin", ORIGIN), (b"authorization", f"Token {token}".encode())]
    )
    connected, _ = await ws.connect(timeout=10)
    assert connected
    rows = database_sync_to_async(
        lambda: list(ConsoleSession.objects.values("user_id", "last_seen_at", "closed_at"))
    )
    [opened] = await rows()
    assert opened["user_id"] == operator.pk and opened["closed_at"] is None
    while (await ws.receive_json_from(2))["type"] != "heartbeat":
        pass
    [touched] = await rows()
    assert touched["last_seen_at"] > opened["last_seen_at"]
    await ws.disconnect()
    [closed] = await rows()
    assert closed["closed_at"] is not None
