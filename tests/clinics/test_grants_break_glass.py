"""Break-glass (紧急查阅) is one coordinator's read: a reason of real length, minutes, announced."""

from datetime import timedelta

import pytest
from django.utils import timezone

from clinics import services
from clinics.models import BreakGlass
from core.errors import Forbidden
from escalation.sources import break_glass_reads
from hotline.models import CaseAccess
from hotline.services import end_lapsed_grants, set_risk
from realtime.models import Event
from tests.factories import MembershipFactory, UserFactory

REASON = "来电者称已服药，需查监护人电话与既往病史"


@pytest.fixture
def centre_b_coordinator(network):
    """Enrolled in two-step verification, so an API token of theirs was issued with a code."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user = UserFactory(username="coordinator_b")
    MembershipFactory(user=user, organisation=network["centre_b"], role="coordinator")
    TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    return user


def _break(client, case, reason=REASON):
    return client.post("/api/v1/break-glass/", {"case": case.pk, "reason": reason})


def test_the_glass_opens_the_case_to_the_coordinator_not_to_their_colleagues(
    client_for, hotline_case, centre_b_coordinator, counsellor_b
):
    me, colleague = client_for(centre_b_coordinator), client_for(counsellor_b)
    assert me.get(f"/api/v1/cases/{hotline_case.pk}/").status_code == 404
    assert _break(me, hotline_case).status_code == 201
    assert me.get(f"/api/v1/cases/{hotline_case.pk}/").status_code == 200
    assert me.get(f"/api/v1/people/{hotline_case.person_id}/").status_code == 200
    # the counsellor of the same centre never broke anything
    assert colleague.get(f"/api/v1/cases/{hotline_case.pk}/").status_code == 404
    assert colleague.get(f"/api/v1/people/{hotline_case.person_id}/").status_code == 404
    grant = CaseAccess.objects.get(reason="break_glass")
    assert grant.user == centre_b_coordinator
    # the organisation does not hold the case: no live events for it, no writes
    assert grant.organisation_id not in hotline_case.audience_organisation_ids()
    with pytest.raises(Forbidden):
        set_risk(centre_b_coordinator, hotline_case, "low", reason="看过了")


@pytest.mark.parametrize("reason", ["", ".", "   紧急   ", "need it"])
def test_a_reason_of_no_real_length_is_refused_beside_the_field(
    client_for, hotline_case, centre_b_coordinator, reason
):
    response = _break(client_for(centre_b_coordinator), hotline_case, reason)
    assert response.status_code == 400
    assert "reason" in response.json()["fields"]
    assert not CaseAccess.objects.exists() and not BreakGlass.objects.exists()


def test_the_refusal_is_in_chinese_for_a_chinese_client(
    client_for, hotline_case, centre_b_coordinator
):
    from knox.models import AuthToken

    client = client_for(centre_b_coordinator)
    _instance, token = AuthToken.objects.create(user=centre_b_coordinator)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}", HTTP_ACCEPT_LANGUAGE="zh-hans")
    response = _break(client, hotline_case, "看看")
    assert response.status_code == 400
    assert "至少" in response.json()["fields"]["reason"][0]


def test_the_read_expires_at_read_time_and_the_end_is_recorded(
    client_for, hotline_case, centre_b_coordinator, settings
):
    settings.BREAK_GLASS_MINUTES = 5
    client = client_for(centre_b_coordinator)
    assert _break(client, hotline_case).status_code == 201
    grant = CaseAccess.objects.get(reason="break_glass")
    assert grant.ends_at - grant.granted_at <= timedelta(minutes=5, seconds=5)
    assert client.get(f"/api/v1/cases/{hotline_case.pk}/").status_code == 200
    # five minutes later, before the worker has looked: closed already
    past = timezone.now() - timedelta(seconds=1)
    CaseAccess.objects.filter(pk=grant.pk).update(ends_at=past)
    assert client.get(f"/api/v1/cases/{hotline_case.pk}/").status_code == 404
    assert end_lapsed_grants(timezone.now()) == 1
    grant.refresh_from_db()
    assert grant.revoked_at == past


def test_the_owning_coordinators_are_told_who_and_why(
    network, hotline_case, centre_b_coordinator, coordinator
):
    services.break_glass(centre_b_coordinator, hotline_case, reason=REASON, verified=True)
    event = Event.objects.get(type="case.break_glass")
    audiences = set(event.audience_rows.values_list("audience", flat=True))
    assert f"orgrole:{network['hotline'].pk}:coordinator" in audiences
    assert event.data["username"] == "coordinator_b" and event.data["reason"] == REASON
    # the counselling centre that broke in is not broadcast the case's event
    assert f"org:{network['centre_b'].pk}" not in audiences
    (spec,) = list(break_glass_reads(timezone.now()))
    assert spec.target_organisation == network["hotline"] and spec.target_role == "coordinator"
    assert "coordinator_b" in spec.title and REASON in spec.title


def test_a_coordinator_with_no_second_factor_is_refused_over_the_api(
    client_for, hotline_case, network
):
    user = UserFactory(username="coordinator_no_device")
    MembershipFactory(user=user, organisation=network["centre_b"], role="coordinator")
    response = _break(client_for(user), hotline_case)
    assert response.status_code == 403
    assert response.json()["code"] == "second_factor"
    assert not CaseAccess.objects.exists()


def test_a_second_factor_is_asked_for_at_one_place(hotline_case, centre_b_coordinator, settings):
    settings.BREAK_GLASS_REQUIRES_SECOND_FACTOR = True
    with pytest.raises(Forbidden) as refused:
        services.break_glass(centre_b_coordinator, hotline_case, reason=REASON)
    assert refused.value.code == "second_factor"
    assert not CaseAccess.objects.exists()
    services.break_glass(centre_b_coordinator, hotline_case, reason=REASON, verified=True)
    assert CaseAccess.objects.filter(user=centre_b_coordinator).count() == 1
