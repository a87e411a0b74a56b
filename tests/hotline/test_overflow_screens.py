"""Overflow on the screens: both centres' boards list it with the partner's name, the console's
call data marks it, the dashboard counts it per centre."""

from django.test import Client
from django.utils import timezone

from dashboard import selectors as dash
from hotline.models import Call
from hotline.services.overflow import route_on_arrival
from tests.hotline import overflow_fixtures as fx
from tests.hotline.conftest import SCREEN_NONE
from tests.hotline.overflow_fixtures import close_now

province, routing, operator12356 = fx.province, fx.routing, fx.operator12356
coordinator12356 = fx.coordinator12356


def _overflowed(network, routing, operator12356, client_for):
    from hotline import services

    close_now(routing)
    call, _created = services.receive_call(
        services.SYSTEM,
        hotline=network["hotline"],
        call_sid="CA" + "f" * 32,
        channel="twilio_voice",
        from_raw="+8613900000041",
    )
    assert route_on_arrival(call) == "hotline-zj12356"
    api = client_for(operator12356)
    api.post(f"/api/v1/calls/{call.pk}/accept/")
    api.post(f"/api/v1/calls/{call.pk}/triage/", {**SCREEN_NONE, "disposition": "resolved"}, "json")
    return Call.objects.get(pk=call.pk)


def _board(user) -> str:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    response = client.get("/coordination/board/")
    assert response.status_code == 200
    return response.content.decode()


def test_both_boards_show_the_overflow_with_the_partner(
    network, routing, operator12356, coordinator, coordinator12356, client_for
):
    call = _overflowed(network, routing, operator12356, client_for)
    sent = _board(coordinator)
    assert 'id="overflow-board"' in sent and "转至省12356中心" in sent
    assert "由省12356中心接听并处置：" in sent
    received = _board(coordinator12356)
    assert f"来自{network['hotline'].name}" in received
    assert f'data-call="{call.pk}"' in received


def test_the_partner_console_data_marks_the_overflow(network, routing, operator12356, client_for):
    call = _overflowed(network, routing, operator12356, client_for)
    body = client_for(operator12356).get(f"/api/v1/calls/{call.pk}/").json()
    assert body["overflowed_from"] == network["hotline"].name
    assert body["hotline"] == network["hotline"].pk
    assert body["answering_centre"] == routing.partner.pk


def test_the_dashboard_counts_overflow_per_centre(network, routing, operator12356, client_for):
    _overflowed(network, routing, operator12356, client_for)
    f = dash.parse_filters({})
    rows = {r["code"]: r for r in dash.TABLES["overflow_by_centre"](f, timezone.now()).rows}
    assert rows["hotline"]["sent_today"] == 1 and rows["hotline"]["received_today"] == 0
    assert rows["zj12356"]["received_today"] == 1 and rows["zj12356"]["sent_period"] == 0
