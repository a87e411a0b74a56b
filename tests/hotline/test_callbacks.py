"""Call-backs of abandoned calls: a task for every real number, delayed for everyone but known
high risk, cancelled by a new call, taken and tried until an outcome closes it; a withheld
number's empty case closes by itself."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import Conflict, Forbidden, Invalid
from hotline import services
from hotline.models import Call, CallbackTask, Case, OperatorPresence
from hotline.services.callbacks import sweep
from realtime.models import Event
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db


def _abandon(sid, from_="+8613900000001"):
    hotline = services.hotline_for_webhook()
    call, _created = services.receive_call(
        None, hotline=hotline, call_sid=sid, channel="twilio_voice", from_raw=from_
    )
    services.call_status_changed(None, call_sid=sid, twilio_status="completed")
    return Call.objects.get(pk=call.pk)


def test_a_first_time_caller_is_queued_for_a_call_back_only_after_the_delay(network, settings):
    settings.CALLBACK_DELAY_SECONDS = 120
    call = _abandon("CA" + "1" * 32)
    task = CallbackTask.objects.get()
    sweep(call.ended_at + timedelta(seconds=119))
    task.refresh_from_db()
    assert task.queue_call is None
    sweep(call.ended_at + timedelta(seconds=121))
    task.refresh_from_db()
    assert task.queue_call.channel == "callback" and task.queue_call.status == "queued"
    assert task.queue_call.callback_of == call and "callback" in task.queue_call.priority_reasons
    sweep(call.ended_at + timedelta(seconds=300))  # queued once
    assert Call.objects.filter(channel="callback").count() == 1


def test_a_known_high_risk_caller_is_queued_at_once_with_a_higher_priority(
    network, operator, hotline_case
):
    services.set_risk(operator, hotline_case, "high")
    _abandon("CA" + "2" * 32, from_=str(hotline_case.person.phone))
    first = _abandon("CA" + "3" * 32)
    sweep(timezone.now() + timedelta(hours=1))
    high = CallbackTask.objects.get(case=hotline_case)
    other = CallbackTask.objects.exclude(pk=high.pk).get()
    assert high.risk == "high" and high.queue_call.status == "queued"
    assert high.queue_call.priority > other.queue_call.priority
    assert other.abandoned_call == first


def test_calling_again_before_the_call_back_cancels_it(network):
    _abandon("CA" + "4" * 32)
    services.receive_call(
        None,
        hotline=network["hotline"],
        call_sid="CA" + "5" * 32,
        channel="twilio_voice",
        from_raw="+8613900000001",
    )
    task = CallbackTask.objects.get()
    assert task.status == "done" and task.outcome == "called_again"
    sweep(timezone.now() + timedelta(hours=1))
    assert not Call.objects.filter(channel="callback").exists()
    assert Event.objects.filter(type="callback.closed").count() == 1


def test_a_failed_attempt_keeps_the_task_open_and_a_final_outcome_closes_it(network, operator):
    services.set_presence(operator, status="available")
    _abandon("CA" + "6" * 32)
    task = CallbackTask.objects.get()
    call = services.take_callback(operator, task)
    assert call.status == "in_progress" and call.operator == operator
    with pytest.raises(Invalid):
        services.record_callback_attempt(operator, task, outcome="called_again")
    ended = services.record_callback_attempt(operator, task, outcome="no_answer", note="无人接")
    assert ended.status == "completed"
    task.refresh_from_db()
    assert task.status == "open" and task.queue_call is None
    assert task.due_at > timezone.now()
    assert OperatorPresence.objects.get(user=operator).status == "available"
    # Tried again at once from the console: a second call-back call, then declined.
    again = services.take_callback(operator, task)
    assert again.pk != call.pk
    services.record_callback_attempt(operator, task, outcome="declined")
    task.refresh_from_db()
    assert task.status == "done" and task.outcome == "declined"
    assert [a.outcome for a in task.attempts.all()] == ["no_answer", "declined"]
    assert task.attempts.first().operator == operator
    with pytest.raises(Conflict):
        services.take_callback(operator, task)


def test_taking_a_call_back_again_is_not_offered_to_another_free_operator_first(
    network, operator, operator2
):
    """The operator who clicks "call back" dials it: queueing it for the second try must not
    hand it to a colleague who has been free longer (that answered the taker 409)."""
    services.set_presence(operator2, status="available")
    services.set_presence(operator, status="available")
    _abandon("CA" + "c" * 32)
    task = CallbackTask.objects.get()
    services.take_callback(operator, task)
    services.record_callback_attempt(operator, task, outcome="no_answer")
    again = services.take_callback(operator, task)
    assert again.operator == operator and again.status == "in_progress"
    assert OperatorPresence.objects.get(user=operator2).status == "available"


def test_only_the_operator_dialling_records_the_attempt(network, operator, operator2):
    services.set_presence(operator, status="available")
    _abandon("CA" + "7" * 32)
    task = CallbackTask.objects.get()
    with pytest.raises(Forbidden):
        services.record_callback_attempt(operator, task, outcome="reached")
    services.take_callback(operator, task)
    with pytest.raises(Forbidden):
        services.record_callback_attempt(operator2, task, outcome="reached")
    with pytest.raises(Conflict):
        services.take_callback(operator2, task)


def test_reached_goes_on_to_triage(network, operator):
    from tests.hotline.conftest import SCREEN_NONE

    services.set_presence(operator, status="available")
    _abandon("CA" + "8" * 32)
    task = CallbackTask.objects.get()
    services.take_callback(operator, task)
    call = services.record_callback_attempt(operator, task, outcome="reached")
    assert call.status == "in_progress"
    services.triage_call(operator, call, screen=SCREEN_NONE, disposition="resolved")
    task.refresh_from_db()
    assert task.status == "done" and task.outcome == "reached"
    assert task.attempts.count() == 1


def test_a_withheld_abandoned_call_closes_its_empty_case_after_a_while(network, settings):
    settings.ABANDONED_EMPTY_CASE_CLOSE_MINUTES = 30
    call = _abandon("CA" + "9" * 32, from_="anonymous")
    assert not CallbackTask.objects.exists()
    sweep(call.ended_at + timedelta(minutes=29))
    assert Case.objects.get(pk=call.case_id).is_open
    sweep(call.ended_at + timedelta(minutes=31))
    case = Case.objects.get(pk=call.case_id)
    assert not case.is_open and "withheld" in case.close_reason
    closed = Event.objects.get(type="case.closed", case=case)
    assert closed.data["reason"] == case.close_reason


def test_a_withheld_case_with_something_in_it_stays_open(network, operator):
    call = _abandon("CA" + "a" * 32, from_="anonymous")
    services.set_next_step(
        operator, call.case, next_step="回访", due=timezone.now() + timedelta(days=1)
    )
    sweep(timezone.now() + timedelta(hours=2))
    assert Case.objects.get(pk=call.case_id).is_open


def test_the_api_lists_takes_and_records(network, operator, client):
    services.set_presence(operator, status="available")
    _abandon("CA" + "b" * 32)
    sign_in(client, operator)
    [row] = client.get("/api/v1/callbacks/").json()["results"]
    assert row["from_number"] == "+8613900000001" and row["attempts"] == []
    assert row["risk"] == "none" and row["queue_call"] is None
    response = client.post(
        f"/api/v1/callbacks/{row['id']}/attempts/",
        {"outcome": "bogus"},
        content_type="application/json",
    )
    assert response.status_code == 400
    taken = client.post(f"/api/v1/callbacks/{row['id']}/take/")
    assert taken.status_code == 200 and taken.json()["channel"] == "callback"
    done = client.post(
        f"/api/v1/callbacks/{row['id']}/attempts/",
        {"outcome": "wrong_number"},
        content_type="application/json",
    )
    assert done.status_code == 200 and done.json()["status"] == "completed"
    assert client.get("/api/v1/callbacks/").json()["results"] == []
    [closed] = client.get("/api/v1/callbacks/?status=done").json()["results"]
    assert closed["outcome"] == "wrong_number"
    assert closed["attempts"][0]["outcome"] == "wrong_number"
    assert client.get("/api/v1/callbacks/?status=nope").status_code == 400
