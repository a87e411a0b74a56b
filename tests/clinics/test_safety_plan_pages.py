"""The safety plan on the care pages: the referral inbox, the plan page, the review step at a
follow-up, the case timeline in words."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from clinics import services as clinic_services
from clinics.models import SafetyPlanReview
from clinics.services_safety_plan import review_safety_plan
from core.errors import Forbidden
from hotline.models import SafetyPlanMessage, SafetyPlanVersion
from hotline.safety_plan import CONTACT_KEYS, LINE_SECTIONS
from hotline.services import safety_plans
from tests.hotline.test_safety_plan import PLAN


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


def form(plan=PLAN, **extra):
    data = {key: "\n".join(plan.get(key, [])) for key in LINE_SECTIONS}
    for key in CONTACT_KEYS:
        rows = plan.get(key, [])
        data[f"{key}-name"] = [r["name"] for r in rows]
        data[f"{key}-phone"] = [r.get("phone", "") for r in rows]
        if key == "professionals":
            data[f"{key}-note"] = [r.get("note", "") for r in rows]
    return {**data, **extra}


@pytest.fixture
def follow_up(referral, counsellor_a, network):
    return clinic_services.schedule_follow_up(
        counsellor_a,
        referral.case,
        due_at=timezone.now() + timedelta(days=1),
        organisation=network["centre_a"],
    )


def test_the_counsellor_receiving_the_referral_sees_the_plan_with_version_and_date(
    referral, operator, counsellor_a
):
    safety_plans.save_version(operator, referral.case, PLAN)
    html = signed_in(counsellor_a).get("/care/counselling/").content.decode()
    assert f'data-safety-plan="{referral.case_id}"' in html
    assert "安全计划 · 版本 1" in html
    page = signed_in(counsellor_a).get(f"/care/cases/{referral.case_id}/safety-plan/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "我的猫" in text and "当前：版本 1" in text


def test_the_page_saves_a_version_and_shows_errors_beside_the_section(referral, operator):
    client = signed_in(operator)
    path = f"/care/cases/{referral.case_id}/safety-plan/"
    bad = {**PLAN, "helpers": [{"name": "妈妈", "phone": "打给我"}]}
    response = client.post(path, form(bad, action="save"))
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-error-for="helpers"' in html and "不是电话号码" in html
    assert "打给我" in html  # what was typed is kept
    assert not SafetyPlanVersion.objects.exists()
    response = client.post(path, form(action="save", sms_consent="on"))
    assert response.status_code == 302
    (version,) = SafetyPlanVersion.objects.all()
    assert version.sms_consent and version.content["helpers"] == PLAN["helpers"]


def test_sending_from_the_page_without_consent_says_why(referral, operator, twilio):
    safety_plans.save_version(operator, referral.case, PLAN)
    path = f"/care/cases/{referral.case_id}/safety-plan/"
    response = signed_in(operator).post(path, {"action": "send"})
    assert response.status_code == 409
    assert "未同意以短信接收" in response.content.decode()
    assert twilio.http.requests == [] and not SafetyPlanMessage.objects.exists()


def test_another_centre_may_not_open_the_plan(referral, operator, counsellor_b):
    safety_plans.save_version(operator, referral.case, PLAN)
    path = f"/care/cases/{referral.case_id}/safety-plan/"
    assert signed_in(counsellor_b).get(path).status_code == 404
    assert signed_in(counsellor_b).post(path, form(action="save")).status_code == 404
    assert SafetyPlanVersion.objects.count() == 1


def test_the_follow_up_reviews_the_plan_unchanged_or_updated(
    referral, operator, counsellor_a, follow_up
):
    safety_plans.save_version(operator, referral.case, PLAN)
    client = signed_in(counsellor_a)
    html = client.get("/care/follow-ups/").content.decode()
    assert f"?follow_up={follow_up.pk}" in html and "回顾安全计划" in html
    path = f"/care/cases/{referral.case_id}/safety-plan/?follow_up={follow_up.pk}"
    page = client.get(path).content.decode()
    assert 'id="review-step"' in page and "已回顾：无变化" in page
    assert client.post(path, {"action": "unchanged"}).status_code == 302
    changed = {**PLAN, "reasons": [*PLAN["reasons"], "下个月妹妹生日"]}
    assert client.post(path, form(changed, action="updated")).status_code == 302
    reviews = list(SafetyPlanReview.objects.order_by("id"))
    assert [(r.outcome, r.version.number) for r in reviews] == [("unchanged", 1), ("updated", 2)]
    assert safety_plans.current_version(referral.case).content["reasons"][-1] == "下个月妹妹生日"
    case_page = client.get(f"/care/cases/{referral.case_id}/").content.decode()
    assert "安全计划已保存" in case_page and "回访时已回顾安全计划" in case_page
    assert "已更新（新版本）" in case_page


def test_a_review_by_another_organisation_is_refused(referral, operator, follow_up, nurse):
    safety_plans.save_version(operator, referral.case, PLAN)
    with pytest.raises(Forbidden):
        review_safety_plan(nurse, follow_up, outcome="unchanged")
    assert not SafetyPlanReview.objects.exists()
