"""The owner is a case worker of the owning organisation, assigned by its coordinator; a high-risk
case is closed by a coordinator (督导 sign-off), so no one unlocks closing by naming themselves."""

import pytest

from hotline import services
from hotline.models import Case
from tests.factories import MembershipFactory, UserFactory
from tests.referrals.conftest import refer


@pytest.fixture
def referral(operator, hotline_case):
    return refer(operator, hotline_case)


@pytest.fixture
def centre_coordinator(network):
    user = UserFactory(username="centre_coordinator")
    MembershipFactory(user=user, organisation=network["centre_a"], role="coordinator")
    return user


def _next_step(client, case, owner):
    return client.post(
        f"/api/v1/cases/{case.pk}/next-step/",
        {"next_step": "明早回访", "owner": owner.pk},
        format="json",
    )


def _close(client, case):
    return client.post(f"/api/v1/cases/{case.pk}/close/", {"reason": "已闭环"}, format="json")


def test_an_operator_cannot_name_themselves_owner(client_for, operator, hotline_case):
    response = _next_step(client_for(operator), hotline_case, operator)
    assert response.status_code == 403
    assert Case.objects.get(pk=hotline_case.pk).owner is None


def test_a_coordinator_assigns_an_owner_of_the_owning_organisation(
    client_for, operator, coordinator, hotline_case
):
    response = _next_step(client_for(coordinator), hotline_case, operator)
    assert response.status_code == 200, response.json()
    assert response.json()["owner"] == operator.pk
    # the owner may still write the next step without touching the owner
    again = _next_step(client_for(operator), hotline_case, operator)
    assert again.status_code == 200


@pytest.mark.parametrize("who", ["decision_maker", "responder", "counsellor_a", "outsider"])
def test_no_one_outside_the_owning_casework_is_made_owner(
    request, client_for, coordinator, referral, who
):
    # counsellor_a's centre holds the case through the referral, but does not own it
    response = _next_step(client_for(coordinator), referral.case, request.getfixturevalue(who))
    assert response.status_code == 400, response.json()
    assert "owner" in response.json()["fields"]


def test_a_high_risk_case_is_closed_by_a_coordinator_not_by_its_owner(
    client_for, operator, coordinator, hotline_case
):
    services.set_next_step(coordinator, hotline_case, next_step="结案评估", owner=operator)
    services.set_risk(operator, hotline_case, "high", reason="有计划")
    refused = _close(client_for(operator), hotline_case)
    assert refused.status_code == 403
    assert Case.objects.get(pk=hotline_case.pk).is_open
    ok = _close(client_for(coordinator), hotline_case)
    assert ok.status_code == 200, ok.json()


def test_the_owner_closes_a_case_below_high_risk(
    client_for, operator, operator2, coordinator, hotline_case
):
    assert _close(client_for(operator2), hotline_case).status_code == 403
    services.set_next_step(coordinator, hotline_case, next_step="结案", owner=operator2)
    assert _close(client_for(operator2), hotline_case).status_code == 200


def test_a_coordinator_of_a_receiving_centre_does_not_close_the_hotlines_case(
    client_for, centre_coordinator, referral
):
    assert _close(client_for(centre_coordinator), referral.case).status_code == 403
