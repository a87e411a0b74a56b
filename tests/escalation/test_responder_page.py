"""The responder page (处置任务): own legs only, the API's services, refusals in words."""

import re

import pytest
from django.core.management import call_command
from django.test import Client

from escalation import services
from escalation.models import DispatchLeg
from hotline.models import Case
from realtime.models import Event
from tests.factories import UserFactory

PAGE = "/respond/"


@pytest.fixture
def dispatch(operator, hotline_case, responders):
    return services.create_dispatch(operator, hotline_case, address="月河街12号")


@pytest.fixture
def police_leg(dispatch):
    return dispatch.legs.get(kind="police")


def browser(user) -> Client:
    """A signed-in browser reading Chinese, as the responders do."""
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    return client


def act(client, leg, action, **data):
    return client.post(f"{PAGE}legs/{leg.pk}/{action}/", data)


def leg_card(html: str, leg) -> str:
    """The HTML of one leg's card on the page."""
    found = re.search(rf'<article[^>]* id="leg-{leg.pk}".*?</article>', html, re.S)
    assert found, f"leg {leg.pk} is not on the page"
    return found.group(0)


def test_the_police_responder_sees_only_its_own_leg_with_the_minimal_brief(
    responder, police_leg, dispatch
):
    response = browser(responder).get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    card = leg_card(html, police_leg)
    assert "月河街12号" in card and "月河社区" in card  # the address and the region's path
    assert 'href="tel:+8613800000002"' in card  # the person's phone, one tap to call
    assert "风险" in card and "中" in card  # moderate risk, in Chinese
    assert 'class="deadline"' in card  # the live countdown to the acknowledgement deadline
    assert police_leg.ack_deadline.isoformat()[:19] in card
    assert ">收到<" in card
    others = dispatch.legs.exclude(pk=police_leg.pk)
    for other in others:
        assert f'id="leg-{other.pk}"' not in html
    assert "1 项紧急联动等待您" in html


def test_acknowledging_on_the_page_is_the_api_s_acknowledgement(responder, police_leg):
    client = browser(responder)
    response = act(client, police_leg, "acknowledge")
    assert response.status_code == 302
    assert response["Location"] == f"{PAGE}#leg-{police_leg.pk}"
    police_leg.refresh_from_db()
    assert police_leg.state == "acknowledged"
    assert police_leg.acknowledged_by == responder and police_leg.acknowledged_via == "console"
    assert Event.objects.filter(type="dispatch.leg_acknowledged", data__leg=police_leg.pk).exists()

    card = leg_card(client.get(PAGE).content.decode(), police_leg)
    assert "已标记“收到”" in card  # the confirmation, beside the leg
    assert 'class="deadline"' not in card  # no countdown once received
    assert ">已出发<" in card and ">已到达<" in card and ">已交接<" in card


def test_the_responder_reports_progress_until_handed_over(responder, police_leg):
    client = browser(responder)
    for action, state in [
        ("acknowledge", "acknowledged"),
        ("en_route", "en_route"),
        ("on_scene", "on_scene"),
        ("done", "done"),
    ]:
        note = "已到场，当事人安全" if action == "on_scene" else ""
        assert act(client, police_leg, action, note=note).status_code == 302
        police_leg.refresh_from_db()
        assert police_leg.state == state, action
        if state != "done":  # each progress step can carry a note
            card = leg_card(client.get(PAGE).content.decode(), police_leg)
            assert 'name="note"' in card and "formaction=" in card
    assert (
        Event.objects.filter(type="dispatch.leg_progressed", data__leg=police_leg.pk).count() == 3
    )
    notes = Event.objects.filter(type="dispatch.leg_progressed", data__leg=police_leg.pk)
    assert [e.data["note"] for e in notes.order_by("id")] == ["", "已到场，当事人安全", ""]
    html = client.get(PAGE).content.decode()
    assert f'id="leg-{police_leg.pk}"' not in html  # no longer open
    assert f'<tr data-leg="{police_leg.pk}">' in html  # listed among the finished
    assert "已标记“已交接”" in html


def test_could_not_help_needs_a_note_and_says_so_beside_the_leg(responder, police_leg):
    client = browser(responder)
    response = act(client, police_leg, "fail", note="  ")
    assert response.status_code == 302
    police_leg.refresh_from_db()
    assert police_leg.state == "notified"
    card = leg_card(client.get(PAGE).content.decode(), police_leg)
    assert "请说明未能处置的原因。" in card

    act(client, police_leg, "fail", note="现场未找到当事人，已移交派出所")
    police_leg.refresh_from_db()
    assert police_leg.state == "failed"
    assert police_leg.failure_reason == "现场未找到当事人，已移交派出所"
    assert Event.objects.filter(type="dispatch.leg_failed", data__leg=police_leg.pk).exists()


def test_a_step_out_of_order_is_refused_in_words_beside_the_leg(responder, police_leg):
    client = browser(responder)
    act(client, police_leg, "on_scene")  # not yet received
    police_leg.refresh_from_db()
    assert police_leg.state == "notified"
    card = leg_card(client.get(PAGE).content.decode(), police_leg)
    assert "此任务当前为“待收到”，不能标记为“已到达”。" in card
    assert "on_scene" not in re.sub(r'(data-step|class|action)="[^"]*"', "", card)

    act(client, police_leg, "acknowledge")
    act(client, police_leg, "acknowledge")  # a second press, e.g. from a stale tab
    card = leg_card(client.get(PAGE).content.decode(), police_leg)
    assert "此任务当前为“已收到”，不能标记为“收到”。" in card


def test_a_responder_of_another_organisation_neither_sees_nor_moves_the_leg(responders, police_leg):
    client = browser(responders["deqing_officer"])
    html = client.get(PAGE).content.decode()
    assert f'id="leg-{police_leg.pk}"' not in html
    assert "暂无分派给您的紧急联动" in html
    assert act(client, police_leg, "acknowledge").status_code == 403
    assert act(client, police_leg, "fail", note="x").status_code == 403
    police_leg.refresh_from_db()
    assert police_leg.state == "notified"


def test_the_page_is_for_responders_only(operator, counsellor_a, coordinator, police_leg):
    for user in (operator, counsellor_a, coordinator):
        client = browser(user)
        assert client.get(PAGE).status_code == 403, user
        assert client.get(f"{PAGE}legs/").status_code == 403, user
        assert act(client, police_leg, "acknowledge").status_code == 403, user
    police_leg.refresh_from_db()
    assert police_leg.state == "notified"
    assert Client().get(PAGE).status_code == 302  # to the log-in page


def test_a_rostered_expert_named_on_a_leg_sees_it_without_a_responder_membership(dispatch):
    """The on-duty expert is the leg's named responder; that alone opens the page to them."""
    leg = dispatch.legs.get(kind="expert")
    on_duty = UserFactory(username="rostered-expert")
    DispatchLeg.objects.filter(pk=leg.pk).update(responder=on_duty)
    client = browser(on_duty)
    assert leg_card(client.get(PAGE).content.decode(), leg)
    assert act(client, leg, "acknowledge").status_code == 302
    leg.refresh_from_db()
    assert leg.state == "acknowledged" and leg.acknowledged_by == on_duty


def test_an_unknown_step_or_leg_is_not_found(responder, police_leg):
    client = browser(responder)
    assert act(client, police_leg, "teleport").status_code == 404
    assert client.post(f"{PAGE}legs/999999/acknowledge/").status_code == 404
    assert client.get(f"{PAGE}legs/{police_leg.pk}/acknowledge/").status_code == 405


def test_the_on_duty_expert_sees_the_expert_leg_and_lands_on_the_page(responders, dispatch):
    expert = responders["expert"]
    client = browser(expert)
    assert client.get("/").url == PAGE
    leg = dispatch.legs.get(kind="expert")
    assert leg.responder == expert
    html = client.get(PAGE).content.decode()
    assert [int(n) for n in re.findall(r'<article[^>]* data-leg="(\d+)"', html)] == [leg.pk]


def test_the_fragment_is_the_leg_list_the_live_page_swaps_in(responder, police_leg):
    html = browser(responder).get(f"{PAGE}legs/").content.decode()
    assert html.lstrip().startswith('<div id="responder-legs"')
    assert f'id="leg-{police_leg.pk}"' in html
    assert "<html" not in html


def test_unacknowledged_legs_come_first(responder, operator, network, responders, police_leg):
    from hotline import services as hotline_services

    person = hotline_services.create_person(
        operator, name="小吴", phone="+8613800000009", home_region=network["village"]
    )
    case = hotline_services.open_case(
        operator, person=person, owning_organisation=network["hotline"], risk="high"
    )
    services.acknowledge_leg(responder, police_leg)
    second = services.create_dispatch(operator, case, address="南街3号").legs.get(kind="police")
    html = browser(responder).get(PAGE).content.decode()
    order = [int(n) for n in re.findall(r'<article[^>]* data-leg="(\d+)"', html)]
    assert order == [second.pk, police_leg.pk]


def test_seed_demo_has_a_responder_of_each_kind_and_each_lands_on_the_page(db):
    call_command("seed_demo")
    from directory.models import User

    kinds = {}
    for username in ("police1", "ambulance1", "community1", "expert1"):
        user = User.objects.get(username=username)
        kinds[username] = {m.organisation.kind for m in user.memberships.all()}
        assert browser(user).get("/").url == PAGE, username
    assert kinds == {
        "police1": {"police"},
        "ambulance1": {"ambulance"},
        "community1": {"community"},
        "expert1": {"expert_pool"},
    }
    # The demo's first sample case lives in 月河社区: its dispatch reaches each of them.
    case = Case.objects.get(person__phone="+8613800000001")
    services.create_dispatch(User.objects.get(username="operator1"), case, address="月河街1号")
    for username in ("police1", "ambulance1", "community1", "expert1"):
        html = browser(User.objects.get(username=username)).get(PAGE).content.decode()
        assert len(re.findall(r"<article[^>]* data-leg=", html)) == 1, username
    assert DispatchLeg.objects.filter(state="notified").count() == 4
