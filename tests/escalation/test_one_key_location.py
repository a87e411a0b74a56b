"""One key never refuses for lack of facts: the place unknown, left-out responders, the region
picker and correcting the place after help went out."""

import pytest

from escalation import services
from escalation.models import Alert, Dispatch, DispatchLeg, OutboundMessage
from hotline import services as hotline
from realtime.models import Event
from tests.factories import OrganisationFactory


@pytest.fixture
def city_centres(network, responders):
    """The city's 110 command centre (the 120 dispatch centre is already at the city)."""
    return {
        "police": OrganisationFactory(
            code="police-city", kind="police", region=network["city"], duty_phone="+865722110000"
        ),
        "ambulance": responders["ambulance"],
    }


@pytest.fixture
def anonymous_call(operator, network):
    """A caller with a number and nothing else: no name, no home region, nothing typed."""
    return hotline.enter_manual_call(operator, channel="walk_in", from_number="13912345678")


def _post(client, call, **extra):
    return client.post(
        "/api/v1/dispatches/", {"case": call.case_id, "call": call.pk, **extra}, format="json"
    )


def _legs(dispatch):
    return {leg.kind: leg for leg in dispatch.legs.select_related("organisation")}


def test_one_key_with_nothing_known_sends_the_city_centres_and_the_expert(
    client_for, operator, anonymous_call, city_centres, responders
):
    response = _post(client_for(operator), anonymous_call)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert {leg["kind"]: leg["organisation"] for leg in body["legs"]} == {
        "police": city_centres["police"].pk,
        "ambulance": city_centres["ambulance"].pk,
        "expert": responders["experts"].pk,
    }
    assert body["warnings"] == ["location_unknown"]
    assert any("Location unknown" in w for w in body["warning_messages"])
    assert body["brief"]["location_known"] is False
    assert body["brief"]["caller_phone"] == "+8613912345678"
    assert "请定位来电者" in body["brief"]["instruction"]
    sms = OutboundMessage.objects.filter(channel="sms", to="+865722110000").get()
    assert "地点不明，请定位来电者" in sms.body and "+8613912345678" in sms.body
    # No community can be chosen without a place: that is the location warning, not an alarm.
    assert body["missing_kinds"] == []
    assert not Alert.objects.filter(kind="dispatch_responder_missing").exists()


def test_free_text_that_matches_no_place_still_gets_the_city_legs(
    operator, anonymous_call, city_centres, responders
):
    dispatch = services.create_dispatch(
        operator, anonymous_call.case, call=anonymous_call, address="桥边那个小卖部"
    )
    legs = _legs(dispatch)
    assert legs["police"].organisation == city_centres["police"]
    assert legs["ambulance"].organisation == city_centres["ambulance"]
    assert "expert" in legs and "community" not in legs
    assert dispatch.warnings == ["address_not_matched"]
    assert dispatch.address == "桥边那个小卖部"


def test_an_address_naming_a_community_dispatches_its_district_and_committee(
    operator, anonymous_call, network, city_centres, responders
):
    dispatch = services.create_dispatch(
        operator, anonymous_call.case, call=anonymous_call, address="月河社区3幢2单元"
    )
    legs = _legs(dispatch)
    assert dispatch.region == network["village"] and dispatch.warnings == []
    assert legs["police"].organisation == network["police"]
    assert legs["community"].organisation == responders["community"]


def test_the_picked_region_wins_over_the_home_region(
    operator, hotline_case, network, city_centres, responders
):
    deqing_village = network["deqing"]
    dispatch = services.create_dispatch(operator, hotline_case, region=deqing_village)
    assert _legs(dispatch)["police"].organisation == responders["police_dq"]


def test_leaving_out_the_ambulance_needs_a_written_reason(
    client_for, operator, anonymous_call, city_centres, responders
):
    client = client_for(operator)
    refused = _post(client, anonymous_call, leave_out=["ambulance"])
    assert refused.status_code == 400
    assert "leave_out_reason" in refused.json()["fields"]
    assert not Dispatch.objects.exists()

    response = _post(
        client, anonymous_call, leave_out=["ambulance"], leave_out_reason="来电者为第三方，无伤情"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert {leg["kind"] for leg in body["legs"]} == {"police", "expert"}
    assert body["skipped_kinds"] == {"ambulance": "来电者为第三方，无伤情"}
    assert any("来电者为第三方" in w for w in body["warning_messages"])


def test_the_expert_cannot_be_left_out(client_for, operator, anonymous_call, city_centres):
    response = _post(
        client_for(operator), anonymous_call, leave_out=["expert"], leave_out_reason="x"
    )
    assert response.status_code == 400
    assert not Dispatch.objects.exists()


def test_the_picker_finds_places_by_name_and_by_pinyin_initials(client_for, operator, network):
    network["village"].pinyin_initials = "yhsq"
    network["village"].save()
    client = client_for(operator)
    by_name = client.get("/api/v1/regions/", {"q": "月河"}).json()["results"]
    assert {r["code"] for r in by_name} == {"330502001", "330502001001"}
    by_initials = client.get("/api/v1/regions/", {"q": "YHS"}).json()["results"]
    assert [r["code"] for r in by_initials] == ["330502001001"]
    assert by_initials[0]["label"] == "吴兴区 / 月河街道 / 月河社区"
    assert client.get("/api/v1/regions/", {"q": "zzz"}).json()["results"] == []


def test_setting_the_place_after_dispatch_moves_the_waiting_city_legs_and_adds_the_community(
    client_for, operator, anonymous_call, network, city_centres, responders, run_worker
):
    client = client_for(operator)
    dispatch_id = _post(client, anonymous_call).json()["id"]
    dispatch = Dispatch.objects.get(pk=dispatch_id)
    # The city's 120 already acknowledged: it keeps its leg and is told the new place.
    services.acknowledge_leg(None, _legs(dispatch)["ambulance"], via="sms")
    police_leg = _legs(dispatch)["police"]
    old_code = police_leg.short_code

    response = client.post(
        f"/api/v1/dispatches/{dispatch_id}/location/",
        {"region": "330502001001", "address": "3幢"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["warnings"] == [] and body["region_name"] == "月河社区"
    legs = _legs(dispatch)
    assert legs["police"].pk == police_leg.pk
    assert legs["police"].organisation == network["police"]
    assert legs["police"].short_code != old_code
    assert legs["ambulance"].organisation == city_centres["ambulance"]
    assert legs["community"].organisation == responders["community"]

    types = list(Event.objects.filter(type__startswith="dispatch.").values_list("type", flat=True))
    assert "dispatch.location_updated" in types
    assert "dispatch.leg_reassigned" in types
    assert "dispatch.leg_location_updated" in types  # the acknowledged 120 and the expert
    moved = Event.objects.get(type="dispatch.leg_reassigned")
    assert moved.data["from_organisation"] == city_centres["police"].pk
    update_sms = OutboundMessage.objects.filter(to="+865722120120", body__contains="地点更新")
    assert update_sms.count() == 1 and "月河社区" in update_sms.get().body
    assert OutboundMessage.objects.filter(to="+865722000001", channel="sms").exists()

    # The first deadline of the moved leg belongs to the old centre: it raises nothing early.
    run_worker()
    assert not Alert.objects.filter(kind="dispatch_leg_unacknowledged").exists()


def test_the_place_of_a_closed_or_foreign_dispatch_cannot_be_changed(
    client_for, operator, outsider, anonymous_call, city_centres, responders
):
    dispatch = services.create_dispatch(operator, anonymous_call.case, call=anonymous_call)
    denied = client_for(outsider).post(
        f"/api/v1/dispatches/{dispatch.pk}/location/", {"address": "月河社区"}, format="json"
    )
    assert denied.status_code in (403, 404)
    empty = client_for(operator).post(
        f"/api/v1/dispatches/{dispatch.pk}/location/", {}, format="json"
    )
    assert empty.status_code == 400 and {"region", "address"} <= set(empty.json()["fields"])
    assert DispatchLeg.objects.filter(dispatch=dispatch).count() == 3
