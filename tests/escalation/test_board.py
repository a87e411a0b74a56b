"""The coordinator board (协调员看板): live fragment, life-safety first, every action through the
services the API uses, refusals in words beside the item, and nothing for other roles."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from escalation import services
from escalation.models import Alert, AlertState, DispatchLeg, LegState, OutboundMessage, Timer
from realtime.models import Event
from tests.factories import MembershipFactory, UserFactory

BOARD = "/coordination/"


@pytest.fixture
def dispatch(operator, hotline_case, responders):
    return services.create_dispatch(operator, hotline_case, address="月河街12号")


@pytest.fixture
def police_leg(dispatch):
    return dispatch.legs.get(kind="police")


@pytest.fixture
def life_alert(police_leg, run_worker):
    """The police did not press 收到 in time: a life-safety alert, its first step fired."""
    run_worker(now=police_leg.ack_deadline + timedelta(seconds=1))
    return Alert.objects.get(dedup_key=f"dispatch_leg:{police_leg.pk}")


@pytest.fixture
def warning_alert(network, counsellor_a):
    alert, _ = services.raise_alert(
        services.AlertSpec(
            dedup_key="referral:9:ack",
            kind="referral_overdue",
            title="Referral #9 not acknowledged",
            target_organisation=network["centre_a"],
            target_role="counsellor",
        )
    )
    return alert


def browser(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    return client


def post(client, url, data=None, *, script=True):
    """A button pressed on the board: board.js sends it with X-Board (JSON answer)."""
    headers = {"HTTP_X_BOARD": "1"} if script else {}
    return client.post(url, data or {}, **headers)


def item(html: str, element_id: str) -> str:
    found = re.search(rf'<(article|tr)[^>]* id="{element_id}".*?</\1>', html, re.S)
    assert found, f"{element_id} is not on the board"
    return found.group(0)


def notified(alert) -> int:
    return Event.objects.filter(type="alert.notified", data__alert=alert.pk).count()


def test_the_board_puts_life_safety_first_in_its_colour_with_countdowns(
    coordinator, warning_alert, life_alert, police_leg, run_worker
):
    html = browser(coordinator).get(BOARD).content.decode()
    life = html.index(f'id="alert-{life_alert.pk}"')
    assert life < html.index(f'id="alert-{warning_alert.pk}"')  # raised later, shown first
    card = item(html, f"alert-{life_alert.pk}")
    assert "life-safety" in card.split(">")[0] and 'data-life="1"' in card
    assert "生命安全" in card
    assert 'class="next-step"' in card  # its countdown to the next escalation step
    assert "life-safety" not in item(html, f"alert-{warning_alert.pk}").split(">")[0]
    assert "生命安全预警" in html and 'role="alert"' in html  # the banner above everything
    leg_row = item(html, f"leg-{police_leg.pk}")
    assert 'class="deadline"' in leg_row  # the countdown to the acknowledgement deadline
    assert "电话已联系上" in leg_row and "重发通知" in leg_row
    fragment = browser(coordinator).get(BOARD + "board/").content.decode()
    assert fragment.startswith('<div id="board-live"') and f'id="alert-{life_alert.pk}"' in fragment


@pytest.mark.parametrize("who", ["operator", "counsellor_a", "responder"])
def test_other_roles_get_403_for_the_board_and_every_action(request, who, life_alert, police_leg):
    user = request.getfixturevalue(who)
    client = browser(user)
    for url in (BOARD, BOARD + "board/", f"{BOARD}alerts/{life_alert.pk}/"):
        assert client.get(url).status_code == 403, url
    for action in ("acknowledge", "resolve", "assign", "call", "handover"):
        url = f"{BOARD}alerts/{life_alert.pk}/{action}/"
        assert post(client, url, {"note": "x"}, script=False).status_code == 403, url
    for action in ("reached", "note", "resend"):
        url = f"{BOARD}legs/{police_leg.pk}/{action}/"
        assert post(client, url, {"note": "x"}, script=False).status_code == 403, url
    close = f"{BOARD}dispatches/{police_leg.dispatch_id}/close/"
    answer = post(client, close, {"outcome": "false_alarm", "help_reached": "no"}, script=False)
    assert answer.status_code == 403
    life_alert.refresh_from_db()
    police_leg.refresh_from_db()
    assert life_alert.state == AlertState.OPEN and police_leg.state == LegState.NOTIFIED
    assert not Event.objects.filter(type__in=["dispatch.leg_note", "dispatch.leg_resent"]).exists()


def test_acknowledging_from_the_board_stops_the_escalation(coordinator, life_alert, run_worker):
    pending = Timer.objects.filter(alert=life_alert, kind="alert_step", fired_at__isnull=True)
    assert pending.exists()  # the next step is due: acknowledging must stop it
    mine = OutboundMessage.objects.filter(alert=life_alert)
    before_events, before_sent = notified(life_alert), mine.count()
    answer = post(browser(coordinator), f"{BOARD}alerts/{life_alert.pk}/acknowledge/")
    assert answer.status_code == 200 and answer.json()["ok"] is True
    assert "升级已停止" in answer.json()["message"]
    life_alert.refresh_from_db()
    assert life_alert.state == AlertState.ACKNOWLEDGED and life_alert.acknowledged_by == coordinator
    run_worker(now=timezone.now() + timedelta(hours=2))
    assert notified(life_alert) == before_events
    assert mine.count() == before_sent  # no next-round SMS or call
    again = post(browser(coordinator), f"{BOARD}alerts/{life_alert.pk}/acknowledge/")
    assert again.status_code == 409 and "已" in again.json()["message"]
    html = browser(coordinator).get(BOARD).content.decode()
    card = item(html, f"alert-{life_alert.pk}")
    assert "升级已停止" in card and 'data-state="acknowledged"' in card


def test_resolving_needs_a_note_said_in_words_beside_the_alert(coordinator, life_alert):
    client = browser(coordinator)
    url = f"{BOARD}alerts/{life_alert.pk}/resolve/"
    answer = post(client, url, {"note": "  "})
    assert answer.status_code == 400 and answer.json()["item"] == f"alert-{life_alert.pk}"
    assert "必填" in answer.json()["message"]
    life_alert.refresh_from_db()
    assert life_alert.state == AlertState.OPEN
    # Without script the form posts and the page says it beside the same alert.
    page = client.post(url, {"note": ""}, follow=True).content.decode()
    assert "必填" in item(page, f"alert-{life_alert.pk}")
    done = post(client, url, {"note": "派出所已到场，人员安全"})
    assert done.status_code == 200
    life_alert.refresh_from_db()
    assert life_alert.state == AlertState.RESOLVED
    assert life_alert.resolution_note == "派出所已到场，人员安全"


def test_reassigning_to_a_person_only_to_someone_who_may_take_it(
    network, coordinator, life_alert, outsider
):
    second = UserFactory(username="coordinator2")
    MembershipFactory(user=second, organisation=network["hotline"], role="coordinator")
    client = browser(coordinator)
    url = f"{BOARD}alerts/{life_alert.pk}/assign/"
    html = client.get(BOARD).content.decode()
    assert f'<option value="{second.pk}">' in item(html, f"alert-{life_alert.pk}")
    refused = post(client, url, {"user": outsider.pk})
    assert refused.status_code == 400 and "协调员" in refused.json()["message"]
    assert post(client, url, {"user": ""}).status_code == 400
    life_alert.refresh_from_db()
    assert life_alert.target_user is None
    answer = post(client, url, {"user": second.pk})
    assert answer.status_code == 200
    life_alert.refresh_from_db()
    assert life_alert.target_user == second
    assert Event.objects.filter(type="alert.assigned", data__user=second.pk).exists()


def test_handing_over_to_an_organisation_with_a_deadline_from_the_alerts_page(
    network, coordinator, life_alert
):
    """交办督办: the alert's page hands it to an organisation, to be resolved by a deadline."""
    client = browser(coordinator)
    page = client.get(f"{BOARD}alerts/{life_alert.pk}/").content.decode()
    assert "交办督办" in page and f'<option value="{network["centre_a"].pk}"' in page
    url = f"{BOARD}alerts/{life_alert.pk}/handover/"
    no_org = post(client, url, {"organisation": "", "due": "2099-01-01T09:00"})
    assert no_org.status_code == 400 and "单位" in no_org.json()["message"]
    past = post(client, url, {"organisation": network["centre_a"].pk, "due": "2001-01-01T09:00"})
    assert past.status_code == 400
    no_due = post(client, url, {"organisation": network["centre_a"].pk, "due": "soon"})
    assert no_due.status_code == 400 and "时限" in no_due.json()["message"]
    life_alert.refresh_from_db()
    assert life_alert.assigned_organisation is None
    due = timezone.localtime(timezone.now() + timedelta(hours=6)).replace(second=0, microsecond=0)
    answer = post(
        client, url, {"organisation": network["centre_a"].pk, "due": due.strftime("%Y-%m-%dT%H:%M")}
    )
    assert answer.status_code == 200 and "交办" in answer.json()["message"]
    life_alert.refresh_from_db()
    assert life_alert.assigned_organisation == network["centre_a"]
    assert life_alert.assignment_due == due
    assert Timer.objects.filter(alert=life_alert, kind="assignment_due").exists()
    assert Event.objects.filter(type="alert.reassigned", data__alert=life_alert.pk).exists()


def test_closing_a_dispatch_from_the_board_needs_every_leg_finished_and_an_outcome(
    coordinator, dispatch
):
    """结案 on the board: the API's close, its refusals said in words beside the dispatch."""
    client = browser(coordinator)
    tag = f"dispatch-{dispatch.pk}"
    assert "结案" in item(client.get(BOARD).content.decode(), tag)
    url = f"{BOARD}dispatches/{dispatch.pk}/close/"
    legs_open = post(client, url, {"outcome": "person_reached", "help_reached": "yes"})
    assert legs_open.status_code == 409 and legs_open.json()["item"] == tag
    dispatch.legs.update(state=LegState.FAILED, failure_reason="test: nobody answered")
    no_outcome = post(client, url, {"outcome": "", "help_reached": "yes"})
    assert no_outcome.status_code == 400
    dispatch.refresh_from_db()
    assert dispatch.status == "open"
    # Without script the refusal comes back beside the same dispatch.
    page = client.post(url, {"outcome": "person_reached"}, follow=True).content.decode()
    assert "请确认救助是否已到达当事人" in item(page, tag)
    done = post(client, url, {"outcome": "person_reached", "help_reached": "yes", "note": "已送医"})
    assert done.status_code == 200 and "结案" in done.json()["message"]
    dispatch.refresh_from_db()
    assert dispatch.status == "closed" and dispatch.help_reached is True
    assert dispatch.outcome_note == "已送医"
    assert Event.objects.filter(type="dispatch.closed", case=dispatch.case).exists()


def test_calling_the_responder_goes_through_the_gateway(coordinator, life_alert, run_worker):
    answer = post(browser(coordinator), f"{BOARD}alerts/{life_alert.pk}/call/")
    assert answer.status_code == 200
    call = OutboundMessage.objects.filter(alert=life_alert, channel="voice").latest("id")
    assert call.to == "+865722110110"  # the police duty desk of the unacknowledged leg
    assert "+865722110110" in answer.json()["message"] or "0572" in answer.json()["message"]
    run_worker()
    call.refresh_from_db()
    assert call.status == OutboundMessage.Status.SENT and call.gateway == "console"


def test_leg_reached_by_phone_note_and_resend(coordinator, police_leg, life_alert, run_worker):
    client = browser(coordinator)
    base = f"{BOARD}legs/{police_leg.pk}/"
    empty = post(client, base + "note/", {"note": ""})
    assert empty.status_code == 400 and empty.json()["message"]
    assert post(client, base + "note/", {"note": "值班台说车辆5分钟内出发"}).status_code == 200
    sent_before = OutboundMessage.objects.filter(leg=police_leg).count()
    resent = post(client, base + "resend/")
    assert resent.status_code == 200
    assert OutboundMessage.objects.filter(leg=police_leg).count() == sent_before + 2
    reached = post(client, base + "reached/")
    assert reached.status_code == 200
    police_leg.refresh_from_db()
    assert police_leg.state == LegState.ACKNOWLEDGED and police_leg.acknowledged_via == "phone"
    life_alert.refresh_from_db()
    assert life_alert.state == AlertState.RESOLVED  # the leg's alert ends with the leg's 收到
    twice = post(client, base + "reached/")
    assert twice.status_code == 409 and "已" in twice.json()["message"]
    html = client.get(BOARD).content.decode()
    assert "值班台说车辆5分钟内出发" in item(html, f"leg-{police_leg.pk}")


def test_a_refused_leg_action_without_script_is_said_beside_the_leg(coordinator, police_leg):
    client = browser(coordinator)
    page = client.post(f"{BOARD}legs/{police_leg.pk}/note/", {"note": ""}, follow=True)
    assert page.status_code == 200
    assert "先填写备注" in item(page.content.decode(), f"leg-{police_leg.pk}")


def test_the_alert_detail_page_has_its_whole_history(coordinator, life_alert, run_worker):
    client = browser(coordinator)
    post(client, f"{BOARD}alerts/{life_alert.pk}/call/")
    post(client, f"{BOARD}alerts/{life_alert.pk}/acknowledge/")
    run_worker()
    html = client.get(f"{BOARD}alerts/{life_alert.pk}/").content.decode()
    history = re.search(r'id="alert-history".*?</section>', html, re.S).group(0)
    for event in ("alert.raised", "alert.notified", "alert.call_placed", "alert.acknowledged"):
        assert f'data-event="{event}"' in history, event
    assert str(coordinator) in history
    assert "+865722110110" in re.search(r'id="alert-messages".*?</section>', html, re.S).group(0)
    steps = re.search(r'id="alert-steps".*?</section>', html, re.S).group(0)
    assert "不会触发" in steps  # the pending step is shown as stopped


def test_the_new_actions_are_in_the_api_too(client_for, coordinator, counsellor_b, police_leg):
    boss = client_for(coordinator)
    note = boss.post(f"/api/v1/dispatch-legs/{police_leg.pk}/note/", {"note": "ok"}, format="json")
    assert note.status_code == 200
    assert boss.post(f"/api/v1/dispatch-legs/{police_leg.pk}/resend/").status_code == 200
    stranger = client_for(counsellor_b)
    assert stranger.post(f"/api/v1/dispatch-legs/{police_leg.pk}/resend/").status_code == 403
    reached = boss.post(f"/api/v1/dispatch-legs/{police_leg.pk}/reached-by-phone/")
    assert reached.status_code == 200 and reached.json()["acknowledged_via"] == "phone"
    alert = Alert.objects.create(
        dedup_key="t", kind="t", title="t", target_organisation=police_leg.organisation
    )
    assert boss.post(f"/api/v1/alerts/{alert.pk}/call/").status_code == 201
    assigned = boss.post(
        f"/api/v1/alerts/{alert.pk}/assign/", {"user": coordinator.pk}, format="json"
    )
    assert assigned.status_code == 200 and assigned.json()["target_user"] == coordinator.pk
    assert stranger.post(f"/api/v1/alerts/{alert.pk}/call/").status_code == 403
    assert DispatchLeg.objects.get(pk=police_leg.pk).state == LegState.ACKNOWLEDGED
