"""Calls today, abandoned calls and call-backs are dashboard figures equal to the database;
data.json answers a decision maker's or coordinator's token too."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from dashboard import rollup, selectors
from hotline.models import Call, CallbackTask, CallChannel, CallStatus
from tests.factories import CaseFactory, PersonFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 18, 10, 0, tzinfo=SHANGHAI)


def _call(hotline, at, status="completed", channel=CallChannel.TWILIO_VOICE):
    n = Call.objects.count()
    return Call.objects.create(
        call_sid=f"CA-fig-{n}", hotline=hotline, status=status, channel=channel, queued_at=at
    )


def _figures(f, now):
    return {r["code"]: r["value"] for r in selectors.calls_and_callbacks(f, now).rows}


@pytest.fixture
def calls(network):
    hotline = network["hotline"]
    case = CaseFactory(person=PersonFactory(), owning_organisation=hotline)
    yesterday = NOW - timedelta(days=1)
    early = datetime(2026, 3, 18, 0, 30, tzinfo=SHANGHAI)  # 16:30 UTC the day before
    for at in (yesterday, early, NOW - timedelta(hours=1)):
        _call(hotline, at)
    gone = [_call(hotline, at, "abandoned") for at in (yesterday, early, NOW)]
    for i, abandoned in enumerate(gone):
        queued = _call(hotline, abandoned.queued_at, "queued", channel=CallChannel.CALLBACK)
        task = CallbackTask.objects.create(abandoned_call=abandoned, queue_call=queued, case=case)
        if i < 2:  # yesterday's done yesterday, this morning's done now
            task.status, task.done_at = "done", abandoned.queued_at + timedelta(minutes=5)
            task.save()
    return hotline


def test_the_figures_equal_the_database(calls):
    f = selectors.parse_filters({"from": "2026-03-01", "to": "2026-03-18"}, now=NOW)
    figures = _figures(f, NOW)
    today = rollup.day_start(rollup.local_day(NOW))
    demand = Call.objects.exclude(channel=CallChannel.CALLBACK)
    assert figures["calls_today"] == demand.filter(queued_at__gte=today).count() == 4
    assert (
        figures["abandoned_today"]
        == demand.filter(queued_at__gte=today, status=CallStatus.ABANDONED).count()
        == 2
    )
    assert figures["calls_period"] == demand.count() == 6
    assert figures["abandoned_period"] == 3
    assert figures["callbacks_open"] == CallbackTask.objects.filter(status="open").count() == 1
    assert figures["callbacks_done_today"] == 1
    assert figures["callbacks_done_period"] == CallbackTask.objects.filter(status="done").count()
    narrow = selectors.parse_filters({"from": "2026-03-18", "to": "2026-03-18"}, now=NOW)
    assert _figures(narrow, NOW)["calls_period"] == 4


def test_the_figures_are_on_the_page_and_in_data_json(dash_client, decision_maker, calls):
    client = dash_client(decision_maker)
    table = client.get("/dashboard/data.json").json()["tables"]["calls_and_callbacks"]
    now = {r["code"]: r["value"] for r in table["rows"]}
    f = selectors.parse_filters({})
    assert now == _figures(f, timezone.now())
    page = client.get("/dashboard/").content.decode()
    assert 'data-table="calls_and_callbacks"' in page


@pytest.mark.parametrize("who", ["decision_maker", "coordinator"])
def test_a_token_of_a_decision_maker_or_coordinator_reads_data_json(
    request, network, client_for, who
):
    response = client_for(request.getfixturevalue(who)).get("/dashboard/data.json")
    assert response.status_code == 200, response.content
    assert "calls_and_callbacks" in response.json()["tables"]


@pytest.mark.parametrize("who", ["operator", "counsellor_a", "responder"])
def test_a_token_of_another_role_is_403(request, network, client_for, who):
    response = client_for(request.getfixturevalue(who)).get("/dashboard/data.json")
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


def test_no_credentials_is_401_json(anonymous_api, network):
    response = anonymous_api.get("/dashboard/data.json")
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    assert "detail" in response.json()
    bad = anonymous_api.get("/dashboard/data.json", HTTP_AUTHORIZATION="Token nonsense")
    assert bad.status_code == 401
