"""A dispatch-ready network: 110 per district, 120 for the city, community committees, experts."""

from datetime import timedelta

import pytest
from django.utils import timezone

from escalation.models import DutyShift
from tests.factories import MembershipFactory, OrganisationFactory, RegionFactory, UserFactory


@pytest.fixture
def responders(network):
    city, deqing, village = (network[k] for k in ("city", "deqing", "village"))
    other_village = RegionFactory(
        code="330502001002", name="衣裳街社区", level="village", parent=village.parent
    )
    network["police"].duty_phone = "+865722110110"
    network["police"].save()
    orgs = {
        "police": network["police"],
        "police_dq": OrganisationFactory(
            code="police-dq", kind="police", region=deqing, duty_phone="+865728110110"
        ),
        "ambulance": OrganisationFactory(
            code="ambulance", kind="ambulance", region=city, duty_phone="+865722120120"
        ),
        "community": OrganisationFactory(
            code="yuehe", kind="community", region=village, duty_phone="+865722000001"
        ),
        "community_other": OrganisationFactory(
            code="yishang", kind="community", region=other_village, duty_phone="+865722000002"
        ),
        "experts": OrganisationFactory(
            code="experts", kind="expert_pool", region=city, capabilities=["psychiatric_expert"]
        ),
    }

    def member(username, org, role, phone):
        user = UserFactory(username=username, phone=phone)
        MembershipFactory(user=user, organisation=org, role=role)
        return user

    people = {
        "community_worker": member("yuehe1", orgs["community"], "responder", "+8613900000011"),
        "other_community_worker": member(
            "yishang1", orgs["community_other"], "responder", "+8613900000012"
        ),
        "deqing_officer": member("dq110", orgs["police_dq"], "responder", "+8613900000013"),
        "expert": member("expert1", orgs["experts"], "expert", "+8613900000014"),
    }
    now = timezone.now()
    DutyShift.objects.create(
        user=people["expert"],
        organisation=orgs["experts"],
        role="expert",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=7),
    )
    return {**orgs, **people}


@pytest.fixture
def run_worker():
    """Fire every due timer now (or at ``now``), as the worker would."""
    from escalation.worker import run_until_idle

    return run_until_idle
