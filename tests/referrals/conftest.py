"""Fixtures for referrals and care: consortium hospitals, a care group, slots, a referred case."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from hotline.signals import disposition_made
from tests.factories import MembershipFactory, OrganisationFactory, RegionFactory, UserFactory

SUMMARY = {
    "risk": "high",
    "derived_risk": "high",
    "screen": {"suicidal_thoughts": True, "plan": False, "means": False, "past_attempt": True},
    "protective_factors": ["family support"],
    "notes": "高三学生，近两周失眠，有自伤念头，同意到咨询中心面谈。",
    "caller_relation": "self",
    "consent": True,
    "consent_override_reason": "",
    "contact_phone": "+8613800000002",
    "location": "吴兴区月河社区",
    "override_reason": "",
}


@pytest.fixture
def care_network(network):
    changxing = RegionFactory(
        code="330522", name="长兴县", level="district", parent=network["city"]
    )
    return {
        **network,
        "changxing": changxing,
        "consortium_wx": OrganisationFactory(
            code="consortium-wx", kind="consortium_hospital", region=network["wuxing"]
        ),
        "consortium_dq": OrganisationFactory(
            code="consortium-dq", kind="consortium_hospital", region=network["deqing"]
        ),
        "care_group": OrganisationFactory(
            code="care-group", kind="care_group", region=network["wuxing"]
        ),
    }


@pytest.fixture
def counsellor_a2(network):
    user = UserFactory(username="counsellor_a2")
    MembershipFactory(user=user, organisation=network["centre_a"], role="counsellor")
    return user


@pytest.fixture
def centre_coordinator(network):
    user = UserFactory(username="centre_coordinator")
    MembershipFactory(user=user, organisation=network["centre_a"], role="coordinator")
    return user


@pytest.fixture
def slot_for():
    """``slot_for(counsellor, hours_from_now)``: a 50-minute slot through the service."""
    from referrals import services

    def make(counsellor, hours=24):
        start = timezone.now().replace(microsecond=0) + timedelta(hours=hours)
        return services.create_slot(
            counsellor,
            counsellor=counsellor,
            starts_at=start,
            ends_at=start + timedelta(minutes=50),
        )

    return make


def refer(operator, case, **summary):
    """Send the hotline's "refer" disposition the way triage does: inside its transaction."""
    with transaction.atomic():
        disposition_made.send(
            sender=None,
            actor=operator,
            case=case,
            disposition="refer",
            call=None,
            summary={**SUMMARY, **summary},
        )
    return case.referrals.order_by("-id").first()


@pytest.fixture
def referral(operator, hotline_case):
    return refer(operator, hotline_case)
