"""Twilio voice webhooks: signed, idempotent per CallSid, identification, abandonment."""

import pytest

from hotline.models import Call, CallbackTask, Case, Person
from realtime.models import Event


def test_an_incoming_call_is_greeted_in_chinese_and_queued(network, incoming):
    response = incoming("CA" + "1" * 32)
    assert response.status_code == 200
    body = response.content.decode()
    assert '<Say language="zh-CN">' in body
    assert "<Enqueue" in body and 'waitUrl="/twilio/voice/wait/"' in body
    call = Call.objects.get(call_sid="CA" + "1" * 32)
    assert call.status == "queued" and str(call.from_number) == "+8613900000001"
    assert call.hotline == network["hotline"]
    # A new person gets a case in discovery, owned by the hotline centre.
    assert call.case.stage == "discovery" and call.case.owning_organisation == network["hotline"]
    queued = Event.objects.get(type="call.queued")
    assert queued.case_id == call.case_id
    assert queued.data["from_number"] == "+8613900000001"
    assert queued.data["waiting_since"] == call.queued_at.isoformat()
    hotline_operators = f"orgrole:{network['hotline'].pk}:operator"
    assert hotline_operators in queued.audience_rows.values_list("audience", flat=True)


def test_a_repeated_delivery_returns_the_same_twiml_and_creates_nothing(network, incoming):
    first = incoming("CA" + "2" * 32)
    counts = (Call.objects.count(), Person.objects.count(), Case.objects.count())
    events = Event.objects.count()
    second = incoming("CA" + "2" * 32)
    assert second.content == first.content
    assert (Call.objects.count(), Person.objects.count(), Case.objects.count()) == counts
    assert Event.objects.count() == events


def test_a_forged_or_replayed_signature_is_403_and_writes_nothing(network, twilio, client):
    params = {"CallSid": "CA" + "3" * 32, "From": "+8613900000001"}
    assert twilio.post(client, "/twilio/voice/incoming/", params, signature="bad").status_code == (
        403
    )
    # A genuine signature for another URL (a replay at the wrong endpoint) is refused too.
    from tests.twilio_recorder import sign

    sig = sign("http://testserver/twilio/voice/status/", params, twilio.token)
    response = client.post("/twilio/voice/incoming/", params, HTTP_X_TWILIO_SIGNATURE=sig)
    assert response.status_code == 403
    assert Call.objects.count() == 0 and Event.objects.count() == 0


def test_a_known_high_risk_number_goes_first(network, incoming, hotline_case, operator):
    from hotline import services

    services.set_risk(operator, hotline_case, "high")
    incoming("CA" + "4" * 32, from_="+8613900000009")
    incoming("CA" + "5" * 32, from_=str(hotline_case.person.phone))
    known = Call.objects.get(call_sid="CA" + "5" * 32)
    assert known.person == hotline_case.person and known.case == hotline_case
    assert known.priority_reasons == ["known_high_risk"]
    from hotline.selectors import waiting_calls

    assert waiting_calls(network["hotline"].pk).first() == known


def test_status_for_an_unknown_call_is_404_and_writes_nothing(network, twilio, client):
    response = twilio.post(
        client, "/twilio/voice/status/", {"CallSid": "CA" + "9" * 32, "CallStatus": "completed"}
    )
    assert response.status_code == 404
    assert Event.objects.count() == 0


def test_hanging_up_while_queued_is_abandoned_and_a_high_risk_caller_gets_a_callback(
    network, incoming, twilio, client, hotline_case, operator
):
    from hotline import services

    services.set_risk(operator, hotline_case, "imminent")
    phone = str(hotline_case.person.phone)
    incoming("CA" + "6" * 32, from_="+8613900000011")
    incoming("CA" + "7" * 32, from_=phone)
    params = {"CallSid": "CA" + "7" * 32, "CallStatus": "completed"}
    assert twilio.post(client, "/twilio/voice/status/", params).status_code == 204
    assert twilio.post(client, "/twilio/voice/status/", params).status_code == 204  # repeated
    call = Call.objects.get(call_sid="CA" + "7" * 32)
    assert call.status == "abandoned" and call.ended_at is not None
    task = CallbackTask.objects.get()
    assert task.abandoned_call == call and task.case == hotline_case
    assert task.queue_call.channel == "callback" and task.queue_call.status == "queued"
    from hotline.selectors import waiting_calls

    assert waiting_calls(network["hotline"].pk).first() == task.queue_call
    assert Event.objects.filter(type="call.abandoned").count() == 1
    assert Event.objects.get(type="call.callback_requested").data["abandoned_call"] == call.pk


def test_a_first_time_callers_abandoned_call_gets_a_delayed_callback(
    network, incoming, twilio, client
):
    incoming("CA" + "8" * 32)
    twilio.post(
        client, "/twilio/voice/status/", {"CallSid": "CA" + "8" * 32, "CallStatus": "no-answer"}
    )
    call = Call.objects.get()
    assert call.status == "abandoned"
    task = CallbackTask.objects.get()
    # Not in the queue yet: the worker queues it after CALLBACK_DELAY_SECONDS.
    assert task.status == "open" and task.queue_call is None and task.risk == "none"
    assert (task.due_at - call.ended_at).total_seconds() == 120
    assert Event.objects.get(type="callback.scheduled").data["callback"] == task.pk


def test_the_wait_loop_is_signed_twiml(network, twilio, client):
    response = twilio.post(client, "/twilio/voice/wait/", {"QueuePosition": "3"})
    assert response.status_code == 200
    assert "前面还有2位" in response.content.decode() and "<Pause" in response.content.decode()
    assert twilio.post(client, "/twilio/voice/wait/", {}, signature="x").status_code == 403


def test_accepting_connects_the_waiting_call_to_the_operator_through_the_rest_api(
    network, incoming, twilio, operator, client_for
):
    incoming("CA" + "a" * 32)
    call = Call.objects.get()
    response = client_for(operator).post(f"/api/v1/calls/{call.pk}/accept/")
    assert response.status_code == 200, response.json()
    assert response.json()["connected_via"] == "twilio"
    [request] = twilio.http.to(r"/Calls/CA" + "a" * 32 + r"\.json$")
    assert request.method == "POST"
    assert "<Conference" in request.data["Twiml"]
    assert f">hotline-call-{call.pk}</Conference></Dial>" in request.data["Twiml"]
    [leg] = twilio.http.to(rf"/Conferences/hotline-call-{call.pk}/Participants\.json$")
    assert leg.data["To"] == f"client:operator-{operator.pk}"


def test_without_a_twilio_account_accepting_still_works_and_is_recorded(
    network, incoming, twilio, operator, client_for, settings
):
    incoming("CA" + "b" * 32)
    settings.TWILIO_ACCOUNT_SID = ""
    call = Call.objects.get()
    response = client_for(operator).post(f"/api/v1/calls/{call.pk}/accept/")
    assert response.status_code == 200
    assert response.json()["connected_via"] == "console"
    assert response.json()["connect_target"] == f"client:operator-{operator.pk}"
    assert twilio.http.requests == []


def test_a_desk_phone_operator_is_dialled_on_the_desk_phone(
    network, incoming, twilio, operator, client_for
):
    operator.desk_phone = "+865722000001"
    operator.save()
    client = client_for(operator)
    client.put("/api/v1/operators/me/presence/", {"device": "desk_phone"}, format="json")
    incoming("CA" + "c" * 32)
    client.post("/api/v1/calls/next/accept/")
    [leg] = twilio.http.to(r"/Participants\.json$")
    assert leg.data["To"] == "+865722000001"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_deliveries_racing_create_one_call(network, twilio):
    import threading

    from django.db import connection
    from django.test import Client

    barrier = threading.Barrier(2)
    results = []

    def deliver():
        try:
            barrier.wait()
            from tests.twilio_recorder import sign

            params = {"CallSid": "CA" + "d" * 32, "From": "+8613900000055"}
            sig = sign("http://testserver/twilio/voice/incoming/", params, twilio.token)
            r = Client().post("/twilio/voice/incoming/", params, HTTP_X_TWILIO_SIGNATURE=sig)
            results.append((r.status_code, r.content))
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r[0] for r in results] == [200, 200]
    assert results[0][1] == results[1][1]
    assert Call.objects.count() == 1
    assert Person.objects.filter(phone="+8613900000055").count() == 1
    assert Event.objects.filter(type="call.queued").count() == 1
