"""Several centres and overflow (来电溢出): routing by the number dialled, overflow by hours, by
wait and by queue length, none while an operator is free, the partner's grant, the disposition
told back to the owning centre."""

from datetime import timedelta

from django.utils import timezone

from hotline import services
from hotline.models import Call, CaseAccess
from hotline.selectors import visible_calls, visible_cases, waiting_calls
from hotline.services.overflow import overflow_reasons, sweep
from realtime.models import Event
from tests.hotline import overflow_fixtures as fx
from tests.hotline.conftest import SCREEN_NONE
from tests.hotline.overflow_fixtures import CITY_NUMBER, PROVINCE_NUMBER, close_now

province, routing, operator12356 = fx.province, fx.routing, fx.operator12356


def _ring(twilio, client, sid, to=CITY_NUMBER, from_="+8613900000001"):
    params = {"CallSid": sid, "From": from_, "To": to, "CallStatus": "ringing"}
    return twilio.post(client, "/twilio/voice/incoming/", params)


def test_the_number_dialled_picks_the_centre(network, province, twilio, client):
    _ring(twilio, client, "CA" + "1" * 32, to=PROVINCE_NUMBER)
    _ring(twilio, client, "CA" + "2" * 32, to=CITY_NUMBER)
    _ring(twilio, client, "CA" + "3" * 32, to="+8657299999999")  # no line: the fallback
    centres = dict(Call.objects.values_list("call_sid", "hotline__code"))
    assert centres == {
        "CA" + "1" * 32: "zj12356",
        "CA" + "2" * 32: "hotline",
        "CA" + "3" * 32: "hotline",
    }


def test_a_closed_centre_sends_a_new_call_to_its_partner(network, routing, twilio, client):
    close_now(routing)
    body = _ring(twilio, client, "CA" + "4" * 32).content.decode()
    assert ">hotline-zj12356</Enqueue>" in body
    call = Call.objects.get()
    assert call.answering_centre == routing.partner and call.overflow_reason == "closed"
    # Ownership stays with the city line; the partner holds a grant on this case only.
    assert call.hotline == network["hotline"]
    assert call.case.owning_organisation == network["hotline"]
    grant = CaseAccess.objects.get(case=call.case, reason="overflow")
    assert grant.organisation == routing.partner and grant.ends_at is not None
    # The caller is not in a Twilio queue yet: the TwiML put them in the partner's, no REST.
    assert twilio.http.to(r"/Calls/") == []


def test_a_call_waiting_with_no_operator_moves_after_the_wait_limit(
    network, routing, twilio, client, settings
):
    settings.ESCALATION_PUBLIC_BASE_URL = "https://hotline.example"  # no webhook base set
    _ring(twilio, client, "CA" + "5" * 32)
    call = Call.objects.get()
    assert sweep(call.queued_at + timedelta(seconds=30)) == 0
    assert sweep(call.queued_at + timedelta(seconds=61)) == 1
    call.refresh_from_db()
    assert call.answering_centre == routing.partner and call.overflow_reason == "no_operator"
    [request] = twilio.http.to(rf"/Calls/{call.call_sid}\.json$")
    assert request.method == "POST"
    assert request.data["Twiml"] == (
        '<?xml version="1.0" encoding="UTF-8"?><Response><Enqueue '
        'waitUrl="https://hotline.example/twilio/voice/wait/" waitUrlMethod="POST">'
        "hotline-zj12356</Enqueue></Response>"
    )
    assert Event.objects.filter(type="call.overflowed", data__reason="no_operator").exists()


def test_no_overflow_while_an_operator_is_free(network, routing, operator, twilio, client):
    services.set_presence(operator, status="available")
    _ring(twilio, client, "CA" + "6" * 32)
    call = Call.objects.get()
    assert call.status == "offered" and call.offered_to == operator
    assert sweep(call.queued_at + timedelta(minutes=5)) == 0
    call.refresh_from_db()
    assert call.answering_centre is None


def test_a_queue_over_its_length_sends_the_last_calls(network, routing, twilio, client):
    routing.max_queue_length = 1
    routing.overflow_after_seconds = 3600
    routing.save()
    _ring(twilio, client, "CA" + "7" * 32, from_="+8613900000007")
    _ring(twilio, client, "CA" + "8" * 32, from_="+8613900000008")
    assert overflow_reasons(routing, timezone.now()) == {
        Call.objects.get(call_sid="CA" + "8" * 32).pk: "queue_full"
    }
    assert sweep(timezone.now()) == 1
    first, second = Call.objects.order_by("pk")
    assert first.answering_centre is None and second.answering_centre == routing.partner


def test_the_partner_is_offered_the_call_and_the_owner_is_not(
    network, routing, operator, operator12356, twilio, client
):
    close_now(routing)
    services.set_presence(operator12356, status="available")
    _ring(twilio, client, "CA" + "9" * 32)
    call = Call.objects.get()
    assert call.status == "offered" and call.offered_to == operator12356
    assert list(waiting_calls(network["hotline"].pk)) == []
    assert list(waiting_calls(routing.partner.pk)) == [call]
    # The city operator may not take it; the partner's operator sees it as an overflow call.
    assert call in visible_calls(operator12356)
    assert call in visible_calls(operator)


def test_the_partner_sees_this_case_only_until_after_wrap_up(
    network, routing, operator12356, hotline_case, twilio, client, client_for
):
    close_now(routing)
    _ring(twilio, client, "CA" + "a" * 32)
    call = Call.objects.get()
    assert set(visible_cases(operator12356)) == {call.case}  # not hotline_case
    api = client_for(operator12356)
    assert api.post(f"/api/v1/calls/{call.pk}/accept/").status_code == 200
    response = api.post(
        f"/api/v1/calls/{call.pk}/triage/", {**SCREEN_NONE, "disposition": "resolved"}, "json"
    )
    assert response.status_code == 200, response.content
    assert api.post(f"/api/v1/calls/{call.pk}/wrap-up/", {}, "json").status_code == 200
    call.refresh_from_db()
    sweep(timezone.now())
    grant = CaseAccess.objects.get(case=call.case, reason="overflow")
    assert grant.ends_at == call.wrap_up_ended_at + timedelta(minutes=30)
    assert call.case in visible_cases(operator12356)  # the short window after wrap-up
    services.end_lapsed_grants(grant.ends_at + timedelta(seconds=1))
    assert not visible_cases(operator12356).filter(pk=call.case_id).exists()


def test_the_disposition_goes_back_to_the_owning_centre(
    network, routing, operator12356, coordinator, twilio, client, client_for
):
    close_now(routing)
    _ring(twilio, client, "CA" + "b" * 32)
    call = Call.objects.get()
    api = client_for(operator12356)
    api.post(f"/api/v1/calls/{call.pk}/accept/")
    api.post(f"/api/v1/calls/{call.pk}/triage/", {**SCREEN_NONE, "disposition": "resolved"}, "json")
    event = Event.objects.get(type="call.overflow_disposed")
    assert event.data["outcome"] == "Answered and handled by 省12356中心: Resolved on the call"
    audiences = set(event.audience_rows.values_list("audience", flat=True))
    assert f"orgrole:{network['hotline'].pk}:coordinator" in audiences
    timeline = client_for(coordinator).get(f"/api/v1/cases/{call.case_id}/timeline/").json()
    assert "call.overflow_disposed" in [e["type"] for e in timeline]
