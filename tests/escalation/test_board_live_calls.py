"""The board's live calls (督导) and wrap-up time: the calls being answered with their operator,
time and risk; each operator's wrap-up now and today's average; supervise from the board."""

from datetime import timedelta

from django.utils import timezone

from hotline import services
from hotline.models import Call
from hotline.selectors import wrap_up_today
from realtime.models import Event
from tests.conftest import sign_in
from tests.hotline.conftest import SCREEN_NONE
from tests.hotline.conftest import held_call as held_call  # the fixture, shared


def _triage(operator, call):
    services.triage_call(operator, call, screen=SCREEN_NONE, disposition="resolved")


def test_wrap_up_time_per_operator_now_and_today(operator, operator2, coordinator, held_call):
    _triage(operator, held_call)
    # operator is in wrap-up, so the next call goes to operator2
    second = services.accept_call(
        operator2, services.enter_manual_call(operator2, channel="walk_in", from_number="")
    )
    _triage(operator2, second)
    start = timezone.now() - timedelta(seconds=90)
    Call.objects.filter(pk=held_call.pk).update(wrap_up_started_at=start)
    services.wrap_up_call(operator, Call.objects.get(pk=held_call.pk))
    rows = {r["operator"].username: r for r in wrap_up_today(coordinator)}
    assert rows["operator"]["done"] == 1 and 89 <= rows["operator"]["average"] <= 95
    assert rows["operator"]["current_since"] is None
    assert rows["operator2"]["done"] == 0 and rows["operator2"]["current_since"] is not None
    assert wrap_up_today(operator) == []  # an operator does not supervise


def test_the_board_lists_live_calls_and_supervises_in_words(client, coordinator, held_call):
    board = sign_in(client, coordinator)
    page = board.get("/coordination/").content.decode()
    assert f'id="call-{held_call.pk}"' in page
    assert "通话中" in page and "今日话后处理" in page  # the board's language: Chinese
    # A walk-in has no conference: refused in words beside the row, nothing written.
    answer = board.post(f"/coordination/calls/{held_call.pk}/supervise/listen/", HTTP_X_BOARD="1")
    assert answer.status_code == 409
    assert answer.json()["item"] == f"call-{held_call.pk}"
    assert "不是电话线路" in answer.json()["message"]
    assert not Event.objects.filter(type__startswith="call.supervision").exists()


def test_other_roles_get_no_live_calls_and_403_for_the_action(
    client, operator, administrator, held_call
):
    page = sign_in(client, administrator).get("/coordination/").content.decode()
    assert 'id="live-calls"' not in page  # an administrator runs the system, not the calls
    denied = sign_in(client, operator).post(
        f"/coordination/calls/{held_call.pk}/supervise/listen/", HTTP_X_BOARD="1"
    )
    assert denied.status_code == 403
