"""求助: the operator of a live call alerts the on-duty coordinator, who sees it on the board with
a one-click "listen"; nobody else may raise it."""

from datetime import timedelta

from django.utils import timezone

from escalation.models import Alert
from hotline.models import Shift
from realtime.models import Event
from tests.conftest import sign_in
from tests.hotline.conftest import SCREEN_NONE
from tests.hotline.conftest import held_call as held_call  # the fixture, shared


def _need_help(client, call):
    return client.post(f"/api/v1/calls/{call.pk}/need-help/", {}, format="json")


def test_the_operator_alerts_the_on_duty_coordinator_once_per_episode(
    client, client_for, operator, coordinator, held_call
):
    now = timezone.now()
    Shift.objects.create(
        hotline=held_call.hotline,
        user=coordinator,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=1),
    )
    client = client_for(operator)
    response = _need_help(client, held_call)
    assert response.status_code == 200, response.json()
    alert = Alert.objects.get(kind="operator_needs_help")
    assert response.json() == {"alert": alert.pk, "state": "open", "target": str(coordinator)}
    assert alert.target_user == coordinator and alert.case_id == held_call.case_id
    assert alert.data == {
        "hotline": held_call.hotline_id,
        "call": held_call.pk,
        "operator": operator.pk,
    }
    event = Event.objects.get(type="call.help_requested")
    assert event.case_id == held_call.case_id and event.data["alert"] == alert.pk
    # Pressed again while the alert is open: the same alert, nothing new.
    assert _need_help(client, held_call).json()["alert"] == alert.pk
    assert Alert.objects.filter(kind="operator_needs_help").count() == 1
    # The board shows it with the one-click listen.
    board = sign_in(client, coordinator).get("/coordination/")
    assert (
        f'action="/coordination/calls/{held_call.pk}/supervise/listen/"' in board.content.decode()
    )


def test_without_a_rostered_coordinator_the_centres_coordinators_are_alerted(
    client_for, operator, held_call
):
    assert _need_help(client_for(operator), held_call).status_code == 200
    alert = Alert.objects.get(kind="operator_needs_help")
    assert alert.target_user is None and alert.target_organisation_id == held_call.hotline_id
    assert alert.target_role == "coordinator"


def test_only_the_operator_talking_on_the_call_may_ask(
    client_for,
    operator2,
    coordinator,
    counsellor_a,
    nurse,
    responder,
    decision_maker,
    administrator,
    outsider,
    held_call,
):
    assert _need_help(client_for(operator2), held_call).status_code == 409
    for user in (coordinator, counsellor_a, nurse, responder, decision_maker, administrator):
        assert _need_help(client_for(user), held_call).status_code in (403, 404), user
    assert _need_help(client_for(outsider), held_call).status_code in (403, 404)
    assert not Alert.objects.filter(kind="operator_needs_help").exists()


def test_a_call_in_wrap_up_is_409(client_for, operator, held_call):
    client = client_for(operator)
    triaged = client.post(
        f"/api/v1/calls/{held_call.pk}/triage/",
        {**SCREEN_NONE, "disposition": "resolved"},
        format="json",
    )
    assert triaged.status_code == 200
    response = _need_help(client, held_call)
    assert response.status_code == 409 and response.json()["code"] == "not_live"
