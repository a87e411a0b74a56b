"""The screens of the grant rules: the break-glass form, the owner and assignee pickers."""

import pytest
from django.test import Client

from clinics.models import FollowUp
from hotline.models import Case, CaseAccess
from tests.conftest import sign_in
from tests.factories import MembershipFactory, UserFactory


def signed_in(user, *, second_factor=None):
    return sign_in(Client(HTTP_ACCEPT_LANGUAGE="zh-hans"), user, second_factor=second_factor)


@pytest.fixture
def centre_b_coordinator(network):
    user = UserFactory(username="coordinator_b")
    MembershipFactory(user=user, organisation=network["centre_b"], role="coordinator")
    return user


def test_the_break_glass_form_refuses_a_short_reason_beside_the_field(
    hotline_case, centre_b_coordinator, counsellor_b
):
    assert signed_in(counsellor_b).get("/care/break-glass/").status_code == 403
    unverified = signed_in(centre_b_coordinator)
    form = unverified.get(f"/care/break-glass/?case={hotline_case.pk}").content.decode()
    assert 'id="second-factor"' in form and "设置两步验证" in form
    refused = unverified.post(
        "/care/break-glass/", {"case": hotline_case.pk, "reason": "来电者称已服药，需查监护人电话"}
    )
    assert refused.status_code == 400 and "两步验证" in refused.content.decode()
    assert not CaseAccess.objects.exists()

    client = signed_in(centre_b_coordinator, second_factor=True)
    form = client.get(f"/care/break-glass/?case={hotline_case.pk}").content.decode()
    assert "紧急查阅个案" in form and 'id="second-factor"' not in form
    refused = client.post("/care/break-glass/", {"case": hotline_case.pk, "reason": "."})
    assert refused.status_code == 400
    html = refused.content.decode()
    assert 'id="reason-error"' in html and "至少写 10 个字" in html
    assert not CaseAccess.objects.exists()
    opened = client.post(
        "/care/break-glass/", {"case": hotline_case.pk, "reason": "来电者称已服药，需查监护人电话"}
    )
    assert opened.status_code == 302 and opened["Location"] == f"/care/cases/{hotline_case.pk}/"
    page = client.get(opened["Location"]).content.decode()
    assert "紧急查阅有效至" in page
    assert 'id="next-step-form"' not in page  # a read, not a hand on the case
    assert signed_in(counsellor_b).get(opened["Location"]).status_code == 404


def test_the_owner_picker_offers_only_the_owning_case_workers(
    hotline_case, coordinator, operator, decision_maker, responder, counsellor_a
):
    page = signed_in(coordinator).get(f"/care/cases/{hotline_case.pk}/").content.decode()
    picker = page.split('name="owner"')[1].split("</select>")[0]
    assert f'value="{operator.pk}"' in picker and f'value="{coordinator.pk}"' in picker
    for other in (decision_maker, responder, counsellor_a):
        assert f'value="{other.pk}"' not in picker
    # an operator gets no owner picker, and a forged post changes nothing
    op_page = signed_in(operator).get(f"/care/cases/{hotline_case.pk}/").content.decode()
    assert 'name="owner"' not in op_page
    signed_in(operator).post(
        f"/care/cases/{hotline_case.pk}/next-step/", {"next_step": "x", "owner": operator.pk}
    )
    assert Case.objects.get(pk=hotline_case.pk).owner is None
    done = signed_in(coordinator).post(
        f"/care/cases/{hotline_case.pk}/next-step/",
        {"next_step": "明早回访", "owner": operator.pk},
    )
    assert done.status_code == 302
    assert Case.objects.get(pk=hotline_case.pk).owner == operator


def test_the_assignee_picker_offers_only_eligible_people(
    hotline_case, operator, operator2, decision_maker
):
    client = signed_in(operator)
    page = client.get(f"/care/cases/{hotline_case.pk}/").content.decode()
    picker = page.split('name="assignee"')[1].split("</select>")[0]
    assert f'value="{operator2.pk}"' in picker and f'value="{decision_maker.pk}"' not in picker
    refused = client.post(
        f"/care/cases/{hotline_case.pk}/follow-up/",
        {"due_at": "2030-01-01T09:00", "assignee": decision_maker.pk},
        follow=True,
    )
    assert "不能把此回访交给" in refused.content.decode()
    assert not FollowUp.objects.exists()
    client.post(
        f"/care/cases/{hotline_case.pk}/follow-up/",
        {"due_at": "2030-01-01T09:00", "assignee": operator2.pk},
    )
    assert FollowUp.objects.get().assignee == operator2
