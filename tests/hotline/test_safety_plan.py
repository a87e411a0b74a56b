"""The safety plan (安全计划): versions, validation, who may read and write it, the SMS of it."""

import pytest
from django.db import connection

from hotline.models import SafetyPlanMessage, SafetyPlanVersion
from hotline.services import safety_plans
from realtime.models import Event

PLAN = {
    "warning_signs": ["连续失眠", "不想见人"],
    "coping": ["听音乐", "去楼下散步"],
    "distractions": ["去奶奶家"],
    "helpers": [{"name": "妈妈", "phone": "13800000009"}],
    "professionals": [{"name": "心理援助热线", "phone": "2251885"}],
    "environment": ["把药交给妈妈保管"],
    "reasons": ["我的猫", "明年想去看海"],
}


def url(case, tail=""):
    return f"/api/v1/cases/{case.pk}/safety-plan/{tail}"


def test_each_save_is_a_new_version_and_the_first_stays_as_written(hotline_case, operator):
    first = safety_plans.save_version(operator, hotline_case, PLAN)
    second = safety_plans.save_version(
        operator, hotline_case, {**PLAN, "reasons": ["我的猫"]}, sms_consent=True
    )
    assert (first.number, second.number) == (1, 2)
    assert safety_plans.current_version(hotline_case) == second
    assert SafetyPlanVersion.objects.get(pk=first.pk).content["reasons"] == PLAN["reasons"]
    assert Event.objects.filter(type="safety_plan.saved", case=hotline_case).count() == 2
    with pytest.raises(ValueError):
        first.save()
    with pytest.raises(ValueError):
        first.delete()


def test_the_sections_are_encrypted_at_rest(hotline_case, operator):
    version = safety_plans.save_version(operator, hotline_case, PLAN)
    with connection.cursor() as cursor:
        cursor.execute("SELECT sections FROM hotline_safetyplanversion WHERE id = %s", [version.pk])
        (raw,) = cursor.fetchone()
    assert "我的猫" not in raw and "13800000009" not in raw
    event = Event.objects.get(type="safety_plan.saved")
    assert "我的猫" not in str(event.data)


def test_a_new_plan_comes_with_the_professionals_prefilled(
    hotline_case, client_for, operator, network, settings
):
    network["centre_a"].address = "吴兴区人民路225号"
    network["centre_a"].save()
    settings.SAFETY_PLAN_CENTRE_HOURS = "周一至周五 9:00-17:00"
    response = client_for(operator).get(url(hotline_case))
    assert response.status_code == 200
    body = response.json()
    assert body["current"] is None and body["versions"] == []
    phones = [p["phone"] for p in body["blank"]["professionals"]]
    assert phones[:5] == ["2251885", "2259885", "12356", "110", "120"]
    centre = body["blank"]["professionals"][5]
    assert "吴兴区人民路225号" in centre["note"] and "周一至周五 9:00-17:00" in centre["note"]


def test_the_api_saves_and_lists_versions(hotline_case, client_for, operator):
    api = client_for(operator)
    assert api.post(url(hotline_case), {"sections": PLAN}, format="json").status_code == 201
    response = api.post(url(hotline_case), {"sections": PLAN, "sms_consent": True}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["current"]["number"] == 2 and body["current"]["sms_consent"] is True
    assert body["current"]["sections"]["reasons"] == PLAN["reasons"]
    assert [v["number"] for v in body["versions"]] == [2, 1]


@pytest.mark.parametrize(
    ("sections", "field"),
    [
        ({**PLAN, "helpers": [{"name": "妈妈", "phone": "call me"}]}, "helpers"),
        ({**PLAN, "helpers": [{"name": "", "phone": "13800000009"}]}, "helpers"),
        ({**PLAN, "reasons": ["长" * 201]}, "reasons"),
        ({**PLAN, "coping": 5}, "coping"),
        ({**PLAN, "weather": ["晴"]}, "sections"),
        ({"professionals": PLAN["professionals"]}, "warning_signs"),
    ],
)
def test_bad_sections_are_a_400_beside_the_section_and_nothing_is_saved(
    hotline_case, client_for, operator, sections, field
):
    response = client_for(operator).post(url(hotline_case), {"sections": sections}, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not SafetyPlanVersion.objects.exists()


def test_a_body_that_is_not_an_object_is_a_400(hotline_case, client_for, operator):
    response = client_for(operator).post(url(hotline_case), {"sections": [1, 2]}, format="json")
    assert response.status_code == 400
    assert not SafetyPlanVersion.objects.exists()


def test_roles_that_may_not_see_the_case_are_refused(
    hotline_case,
    client_for,
    operator,
    counsellor_a,
    counsellor_b,
    decision_maker,
    responder,
    outsider,
):
    safety_plans.save_version(operator, hotline_case, PLAN, sms_consent=True)
    for user in (counsellor_a, counsellor_b, decision_maker, responder, outsider):
        api = client_for(user)
        assert api.get(url(hotline_case)).status_code == 404, user
        assert api.post(url(hotline_case), {"sections": PLAN}, format="json").status_code == 404
        assert api.post(url(hotline_case, "send/")).status_code == 404
    assert SafetyPlanVersion.objects.count() == 1
    assert not SafetyPlanMessage.objects.exists()


def test_the_counsellor_the_case_was_referred_to_reads_and_writes_it(
    hotline_case, operator, counsellor_a, network, client_for
):
    from hotline import services

    services.grant_access(hotline_case, network["centre_a"], reason="referral")
    api = client_for(counsellor_a)
    assert api.post(url(hotline_case), {"sections": PLAN}, format="json").status_code == 201
    assert api.get(url(hotline_case)).json()["current"]["author_name"]


def test_sending_without_consent_or_without_a_number_is_refused(
    hotline_case, client_for, operator, twilio
):
    api = client_for(operator)
    response = api.post(url(hotline_case, "send/"))
    assert response.status_code == 409 and response.json()["code"] == "no_plan"
    safety_plans.save_version(operator, hotline_case, PLAN)
    response = api.post(url(hotline_case, "send/"))
    assert response.status_code == 409 and response.json()["code"] == "no_consent"
    assert "consented" in response.json()["detail"]
    safety_plans.save_version(operator, hotline_case, PLAN, sms_consent=True)
    person = hotline_case.person
    from hotline import services

    services.update_person(operator, person, phone="")
    response = api.post(url(hotline_case, "send/"))
    assert response.status_code == 409 and response.json()["code"] == "no_number"
    assert twilio.http.requests == []
    assert not SafetyPlanMessage.objects.exists()


EXPECTED_SMS = (
    "【南太湖心航】您的安全计划。活下去的理由：我的猫；明年想去看海。自我应对：听音乐；去楼下散步。"
    "可以求助的人：妈妈13800000009。求助电话：心理援助热线2251885。有危险请立即拨打110或120。"
)


def test_the_plan_goes_to_the_persons_number_through_twilio(
    hotline_case, client_for, operator, twilio
):
    safety_plans.save_version(operator, hotline_case, PLAN, sms_consent=True)
    response = client_for(operator).post(url(hotline_case, "send/"))
    assert response.status_code == 201
    (request,) = twilio.http.to(r"/Messages\.json$")
    assert request.method == "POST"
    assert request.data == {
        "To": "+8613800000002",
        "From": "+865722251885",
        "Body": EXPECTED_SMS,
        "StatusCallback": "http://127.0.0.1:8000/twilio/sms/safety-plan/status/",
    }
    (message,) = SafetyPlanMessage.objects.all()
    assert message.sid.startswith("SM") and message.status == "queued"
    assert Event.objects.filter(type="safety_plan.sent", case=hotline_case).exists()


def test_a_long_plan_goes_in_numbered_parts(hotline_case, operator, twilio, settings):
    settings.SAFETY_PLAN_SMS_PART_CHARS = 60
    safety_plans.save_version(operator, hotline_case, PLAN, sms_consent=True)
    sent = safety_plans.send_plan_sms(operator, hotline_case)
    bodies = [r.data["Body"] for r in twilio.http.to(r"/Messages\.json$")]
    assert len(bodies) == len(sent) > 1
    assert bodies[0].startswith(f"(1/{len(bodies)})") and all(len(b) <= 60 for b in bodies)
    assert "".join(b.split(")", 1)[1] for b in bodies) == EXPECTED_SMS


def test_twilio_reports_delivery_and_an_unknown_message_is_404(
    hotline_case, operator, twilio, client
):
    safety_plans.save_version(operator, hotline_case, PLAN, sms_consent=True)
    (message,) = safety_plans.send_plan_sms(operator, hotline_case)
    path = "/twilio/sms/safety-plan/status/"
    response = twilio.post(client, path, {"MessageSid": message.sid, "MessageStatus": "delivered"})
    assert response.status_code == 204
    assert SafetyPlanMessage.objects.get(pk=message.pk).status == "delivered"
    unknown = twilio.post(client, path, {"MessageSid": "SMnope", "MessageStatus": "delivered"})
    assert unknown.status_code == 404
    forged = twilio.post(
        client, path, {"MessageSid": message.sid, "MessageStatus": "failed"}, signature="bad"
    )
    assert forged.status_code == 403
    assert SafetyPlanMessage.objects.get(pk=message.pk).status == "delivered"


def test_a_closed_case_is_not_changed(hotline_case, operator, client_for, english_messages):
    from django.utils import timezone

    from hotline.models import Case

    Case.objects.filter(pk=hotline_case.pk).update(stage="closed", closed_at=timezone.now())
    response = client_for(operator).post(url(hotline_case), {"sections": PLAN}, format="json")
    assert response.status_code == 409
