"""Must show (issue 21): two centres on PostgreSQL. A call waits at the city line with nobody
free, the worker's housekeeping moves it to the provincial 12356 centre (a Twilio REST update),
the partner's operator answers and triages through the API, and the city line's coordinator
sees the outcome through the API and the case timeline."""

from datetime import timedelta

import pytest

from escalation.sources import housekeeping
from hotline.models import Call
from realtime.models import Event
from tests.hotline import overflow_fixtures as fx
from tests.hotline.conftest import SCREEN_NONE
from tests.hotline.overflow_fixtures import CITY_NUMBER

province, routing, operator12356 = fx.province, fx.routing, fx.operator12356


@pytest.mark.postgres
def test_a_waiting_call_overflows_and_the_owner_sees_the_outcome(
    network, routing, operator, operator12356, coordinator, twilio, client, client_for, settings
):
    settings.ESCALATION_PUBLIC_BASE_URL = "https://hotline.example"
    city, partner = network["hotline"], routing.partner
    params = {"CallSid": "CA" + "e" * 32, "From": "+8613900000031", "To": CITY_NUMBER}
    body = twilio.post(client, "/twilio/voice/incoming/", params).content.decode()
    assert ">hotline</Enqueue>" in body  # the city line is open: its own queue
    call = Call.objects.get()
    assert call.hotline == city and call.status == "queued"

    # Nobody free at the city line: within the limit it stays, after it the sweep moves it.
    housekeeping(call.queued_at + timedelta(seconds=59))
    call.refresh_from_db()
    assert call.answering_centre is None
    housekeeping(call.queued_at + timedelta(seconds=61))
    call.refresh_from_db()
    assert call.answering_centre == partner and call.overflowed_at is not None
    [moved] = twilio.http.to(rf"/Calls/{call.call_sid}\.json$")
    assert moved.method == "POST"
    assert "<Enqueue" in moved.data["Twiml"] and ">hotline-zj12356</Enqueue>" in moved.data["Twiml"]
    assert 'waitUrl="https://hotline.example/twilio/voice/wait/"' in moved.data["Twiml"]

    # The city operator's queue no longer has it; the partner's operator is offered it.
    city_api, partner_api = client_for(operator), client_for(operator12356)
    assert city_api.get("/api/v1/calls/?view=queue").json()["results"] == []
    assert (
        partner_api.put(
            "/api/v1/operators/me/presence/", {"status": "available"}, format="json"
        ).status_code
        == 200
    )
    [waiting] = partner_api.get("/api/v1/calls/?view=queue").json()["results"]
    assert waiting["id"] == call.pk and waiting["offered_to"] == operator12356.pk
    assert waiting["overflowed_from"] == city.name
    assert city_api.post(f"/api/v1/calls/{call.pk}/accept/").status_code == 403
    assert partner_api.post(f"/api/v1/calls/{call.pk}/accept/").status_code == 200
    response = partner_api.post(
        f"/api/v1/calls/{call.pk}/triage/",
        {**SCREEN_NONE, "disposition": "resolved", "notes": "倾听后情绪平稳"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert partner_api.post(f"/api/v1/calls/{call.pk}/wrap-up/", {}, format="json").status_code == (
        200
    )

    # The owner keeps the case and hears the outcome.
    call.refresh_from_db()
    assert call.hotline == city and call.case.owning_organisation == city
    owner_api = client_for(coordinator)
    seen = owner_api.get(f"/api/v1/calls/{call.pk}/").json()
    assert seen["answering_centre"] == partner.pk and seen["overflowed_to"] == partner.name
    assert seen["triage"]["disposition"] == "resolved"
    timeline = owner_api.get(f"/api/v1/cases/{call.case_id}/timeline/").json()
    [told] = [e for e in timeline if e["type"] == "call.overflow_disposed"]
    assert told["data"]["outcome"] == "Answered and handled by 省12356中心: Resolved on the call"
    event = Event.objects.get(type="call.overflow_disposed")
    assert f"orgrole:{city.pk}:coordinator" in event.audience_rows.values_list(
        "audience", flat=True
    )
