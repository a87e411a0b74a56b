from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from escalation import services
from escalation.models import Alert, Dispatch, DispatchLeg, InboundMessage, OutboundMessage
from hotline.conversation_models import ContactMessage
from hotline.models import CaseAccess
from realtime.models import Event


def _dispatch(client, case, **extra):
    return client.post("/api/v1/dispatches/", {"case": case.pk, **extra}, format="json")


def test_one_key_dispatch_alerts_every_responder_at_once(
    client_for, operator, hotline_case, responders, twilio, run_worker
):
    response = _dispatch(client_for(operator), hotline_case, address="月河街12号", call_sid="CA1")
    assert response.status_code == 201, response.json()
    legs = {leg["kind"]: leg for leg in response.json()["legs"]}
    assert set(legs) == {"police", "ambulance", "community", "expert"}
    assert legs["police"]["organisation"] == responders["police"].pk
    assert legs["ambulance"]["organisation"] == responders["ambulance"].pk
    assert legs["community"]["organisation"] == responders["community"].pk
    assert legs["expert"]["organisation"] == responders["experts"].pk
    granted = set(
        CaseAccess.objects.filter(case=hotline_case, reason="dispatch").values_list(
            "organisation_id", flat=True
        )
    )
    assert granted == {leg["organisation"] for leg in legs.values()}
    assert Event.objects.filter(type="dispatch.leg_notified").count() == 4

    run_worker()
    sms = twilio.http.to(r"/Messages\.json$")
    calls = twilio.http.to(r"/Calls\.json$")
    assert {r.data["To"] for r in sms} == {
        "+865722110110",
        "+865722120120",
        "+865722000001",
        "+8613900000014",
    }
    assert len(calls) == 4
    community_sms = next(r for r in sms if r.data["To"] == "+865722000001")
    assert "月河街12号" in community_sms.data["Body"]
    assert legs["community"]["short_code"] in community_sms.data["Body"]
    assert all("/twilio/voice/alert/" in r.data["Url"] for r in calls)
    assert not OutboundMessage.objects.exclude(status="sent").exists()
    # A delivered SMS is not an acknowledgement.
    assert DispatchLeg.objects.filter(state="notified").count() == 4


def test_outsiders_cannot_dispatch(client_for, outsider, counsellor_b, hotline_case, responders):
    assert _dispatch(client_for(outsider), hotline_case, address="x").status_code == 403
    assert _dispatch(client_for(counsellor_b), hotline_case, address="x").status_code == 403
    assert not Dispatch.objects.exists()


def test_a_community_responder_sees_only_its_own_leg_and_the_brief(
    client_for, operator, hotline_case, responders
):
    services.create_dispatch(operator, hotline_case, address="月河街12号")
    mine = client_for(responders["community_worker"]).get("/api/v1/dispatches/").json()["results"]
    assert len(mine) == 1
    assert [leg["kind"] for leg in mine[0]["legs"]] == ["community"]
    assert mine[0]["brief"]["address"] == "月河街12号"
    assert "notes" not in mine[0] and mine[0]["messages"] == []
    # Responders never read the full case file.
    case_read = client_for(responders["community_worker"]).get(f"/api/v1/cases/{hotline_case.pk}/")
    assert case_read.status_code in (403, 404)
    other = client_for(responders["other_community_worker"]).get("/api/v1/dispatches/").json()
    assert other["results"] == []


def test_acknowledging_a_leg_that_is_not_yours_is_403(
    client_for, operator, hotline_case, responders
):
    dispatch = services.create_dispatch(operator, hotline_case, address="月河街12号")
    community = dispatch.legs.get(kind="community")
    police = dispatch.legs.get(kind="police")
    url = "/api/v1/dispatch-legs/{}/acknowledge/"
    other = client_for(responders["other_community_worker"]).post(url.format(community.pk))
    assert other.status_code == 403
    deqing = client_for(responders["deqing_officer"]).post(url.format(police.pk))
    assert deqing.status_code == 403
    assert DispatchLeg.objects.get(pk=community.pk).state == "notified"
    ok = client_for(responders["community_worker"]).post(url.format(community.pk))
    assert ok.status_code == 200 and ok.json()["state"] == "acknowledged"
    again = client_for(responders["community_worker"]).post(url.format(community.pk))
    assert again.status_code == 409


def test_an_sms_reply_with_the_code_acknowledges_once(
    client, operator, hotline_case, responders, twilio, run_worker
):
    dispatch = services.create_dispatch(operator, hotline_case, address="月河街12号")
    run_worker()
    leg = dispatch.legs.get(kind="community")
    params = {"MessageSid": "SM1", "From": "+865722000001", "Body": f"收到 {leg.short_code}"}
    reply = twilio.post(client, "/twilio/sms/incoming/", params)
    assert reply.status_code == 200 and "已确认" in reply.content.decode()
    leg.refresh_from_db()
    assert leg.state == "acknowledged" and leg.acknowledged_via == "sms"
    events = Event.objects.filter(type="dispatch.leg_acknowledged").count()
    again = twilio.post(client, "/twilio/sms/incoming/", params)
    assert again.status_code == 200
    assert Event.objects.filter(type="dispatch.leg_acknowledged").count() == events
    assert InboundMessage.objects.count() == 1


def test_an_sms_from_an_unknown_number_changes_nothing(
    client, operator, hotline_case, responders, twilio, run_worker
):
    dispatch = services.create_dispatch(operator, hotline_case, address="月河街12号")
    leg = dispatch.legs.get(kind="community")
    params = {"MessageSid": "SM2", "From": "+8613812345678", "Body": f"1 {leg.short_code}"}
    reply = twilio.post(client, "/twilio/sms/incoming/", params)
    # Someone nothing was sent to is a person writing to the hotline: a text conversation.
    assert reply.status_code == 200 and "<Message>" not in reply.content.decode()
    assert DispatchLeg.objects.get(pk=leg.pk).state == "notified"
    assert not InboundMessage.objects.exists()
    assert ContactMessage.objects.get(provider_sid="SM2").call.channel == "sms"


def test_a_forged_twilio_request_is_403_and_writes_nothing(
    client, operator, hotline_case, responders, twilio, run_worker
):
    dispatch = services.create_dispatch(operator, hotline_case, address="月河街12号")
    run_worker()
    leg = dispatch.legs.get(kind="community")
    params = {"MessageSid": "SM3", "From": "+865722000001", "Body": f"1 {leg.short_code}"}
    forged = twilio.post(client, "/twilio/sms/incoming/", params, signature="bogus")
    assert forged.status_code == 403
    gather = twilio.post(client, "/twilio/voice/gather/", {"Digits": "1"}, signature="x")
    assert gather.status_code == 403
    assert DispatchLeg.objects.get(pk=leg.pk).state == "notified"
    assert not InboundMessage.objects.exists()


def test_the_alert_call_reads_the_alert_and_pressing_1_acknowledges(
    client, operator, hotline_case, responders, twilio, run_worker
):
    dispatch = services.create_dispatch(operator, hotline_case, address="月河街12号")
    run_worker()
    leg = dispatch.legs.get(kind="police")
    call = OutboundMessage.objects.get(leg=leg, channel="voice")
    twiml = twilio.post(client, f"/twilio/voice/alert/{call.token}/", {"CallSid": "CA9"})
    body = twiml.content.decode()
    assert '<Gather action="/twilio/voice/gather/?m=' in body and 'numDigits="1"' in body
    assert '<Say language="zh-CN">' in body and "按1" in body
    pressed = twilio.post(client, f"/twilio/voice/gather/?m={call.token}", {"Digits": "1"})
    assert "已确认" in pressed.content.decode()
    leg.refresh_from_db()
    assert leg.state == "acknowledged" and leg.acknowledged_via == "voice"


def test_a_leg_past_its_deadline_raises_a_life_safety_alert(
    operator, hotline_case, responders, run_worker
):
    dispatch = services.create_dispatch(operator, hotline_case, address="月河街12号")
    run_worker()
    assert not Alert.objects.exists()
    run_worker(now=timezone.now() + timedelta(seconds=61))
    alerts = Alert.objects.filter(kind="dispatch_leg_unacknowledged")
    assert alerts.count() == 4 and {a.severity for a in alerts} == {"life_safety"}
    leg = dispatch.legs.get(kind="community")
    services.acknowledge_leg(responders["community_worker"], leg)
    assert Alert.objects.get(dedup_key=f"dispatch_leg:{leg.pk}").state == "resolved"


def test_the_dispatch_closes_only_with_every_leg_settled_and_the_outcome_confirmed(
    client_for, operator, hotline_case, responders, coordinator
):
    from hotline import services as hotline_services

    dispatch = services.create_dispatch(operator, hotline_case, address="月河街12号")
    api = client_for(operator)
    close = f"/api/v1/dispatches/{dispatch.pk}/close/"
    blocked = api.post(close, {"outcome": "person_reached", "help_reached": True}, format="json")
    assert blocked.status_code == 409 and blocked.json()["code"] == "legs_open"
    closing = client_for(coordinator).post(
        f"/api/v1/cases/{hotline_case.pk}/close/", {"reason": "done"}, format="json"
    )
    assert closing.status_code == 409 and "dispatch" in closing.json()["detail"]
    for leg in dispatch.legs.all():
        if leg.kind == "expert":
            r = api.post(f"/api/v1/dispatch-legs/{leg.pk}/fail/", {"reason": ""}, format="json")
            assert r.status_code == 400
            services.fail_leg(operator, leg, reason="专家电话无人接听")
            continue
        services.acknowledge_leg(operator, leg)
        services.advance_leg(operator, leg, "en_route")
        services.advance_leg(operator, leg, "on_scene")
        services.advance_leg(operator, leg, "done")
    unconfirmed = api.post(close, {"outcome": "person_reached"}, format="json")
    assert unconfirmed.status_code == 400 and "help_reached" in unconfirmed.json()["fields"]
    contradicts = api.post(
        close, {"outcome": "taken_to_hospital", "help_reached": False}, format="json"
    )
    assert contradicts.status_code == 400
    denied = client_for(responders["community_worker"]).post(
        close, {"outcome": "person_reached", "help_reached": True}, format="json"
    )
    assert denied.status_code in (403, 404)
    ok = api.post(close, {"outcome": "taken_to_hospital", "help_reached": True}, format="json")
    assert ok.status_code == 200 and ok.json()["status"] == "closed"
    types = list(
        Event.objects.filter(case=hotline_case, type__startswith="dispatch").values_list(
            "type", flat=True
        )
    )
    assert types[0] == "dispatch.created" and types[-1] == "dispatch.closed"
    hotline_services.close_case(coordinator, hotline_case, reason="已送医")


def test_the_emergency_disposition_creates_the_dispatch_in_the_same_transaction(
    operator, hotline_case, responders
):
    from hotline.signals import disposition_made

    with transaction.atomic():
        disposition_made.send(
            sender=None,
            actor=operator,
            case=hotline_case,
            disposition="emergency",
            call=None,
            summary={"location": "月河街12号", "notes": "服药过量", "risk": "imminent"},
        )
        assert Dispatch.objects.filter(case=hotline_case).count() == 1
    dispatch = Dispatch.objects.get()
    assert dispatch.address == "月河街12号" and "服药过量" in dispatch.notes
    with transaction.atomic():  # another disposition (a referral) dispatches nothing more
        disposition_made.send(
            sender=None,
            actor=operator,
            case=hotline_case,
            disposition="refer",
            call=None,
            summary={"risk": "high", "consent": True, "notes": ""},
        )
    assert Dispatch.objects.count() == 1


def test_the_disposition_rolls_back_with_the_triage(operator, hotline_case, responders):
    from hotline.signals import disposition_made

    with pytest.raises(RuntimeError), transaction.atomic():
        disposition_made.send(
            sender=None,
            actor=operator,
            case=hotline_case,
            disposition="emergency",
            call=None,
            summary={"location": "月河街12号"},
        )
        raise RuntimeError("triage failed")
    assert not Dispatch.objects.exists()


def test_the_operator_brings_110_into_the_live_call(
    client_for, operator, hotline_case, responders, twilio
):
    dispatch = services.create_dispatch(
        operator, hotline_case, address="x", call_sid="CA" + "7" * 32
    )
    response = client_for(operator).post(
        f"/api/v1/dispatches/{dispatch.pk}/conference/", {"service": "110"}, format="json"
    )
    assert response.status_code == 200, response.json()
    redirect = twilio.http.to(r"/Calls/CA7+\.json$")
    assert redirect and "<Conference" in redirect[0].data["Twiml"]
    joined = twilio.http.to(r"/Conferences/dispatch-\d+/Participants\.json$")
    assert joined and joined[0].data["To"] == "+865722110110"
    denied = client_for(responders["community_worker"]).post(
        f"/api/v1/dispatches/{dispatch.pk}/conference/", {"service": "120"}, format="json"
    )
    assert denied.status_code == 403


def test_a_second_press_for_the_same_case_is_409_naming_the_running_dispatch(
    client_for, operator, hotline_case, responders
):
    client = client_for(operator)
    first = _dispatch(client, hotline_case, address="月河街12号")
    assert first.status_code == 201
    again = _dispatch(client, hotline_case, address="月河街12号")
    assert again.status_code == 409
    assert f"#{first.json()['id']}" in again.json()["detail"]
    assert Dispatch.objects.count() == 1


def test_the_one_key_press_from_the_call_links_the_call_and_triage_does_not_dispatch_twice(
    client_for, operator, hotline_case, responders
):
    from hotline import services as hotline_services
    from hotline.signals import disposition_made

    call = hotline_services.enter_manual_call(
        operator, channel="walk_in", from_number=str(hotline_case.person.phone)
    )
    call = hotline_services.accept_call(operator, call)
    assert call.case_id == hotline_case.pk
    response = _dispatch(client_for(operator), hotline_case, call=call.pk, address="月河街12号")
    assert response.status_code == 201, response.json()
    dispatch = Dispatch.objects.get()
    assert dispatch.call == call and dispatch.source_call_sid == call.call_sid

    with transaction.atomic():  # the triage recorded afterwards with the emergency disposition
        disposition_made.send(
            sender=None,
            actor=operator,
            case=hotline_case,
            disposition="emergency",
            call=call,
            summary={"location": "月河街12号"},
        )
    assert Dispatch.objects.count() == 1


def test_a_call_of_another_case_cannot_be_attached(client_for, operator, hotline_case, responders):
    from hotline import services as hotline_services

    other = hotline_services.enter_manual_call(
        operator, channel="walk_in", from_number="13900000999"
    )
    response = _dispatch(client_for(operator), hotline_case, call=other.pk, address="x")
    assert response.status_code == 400
    assert not Dispatch.objects.exists()
