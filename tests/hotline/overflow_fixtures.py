"""Two hotline centres for the overflow tests: the city line (``network["hotline"]``, 2251885)
and the provincial 12356 centre, its partner."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.conftest import _member
from tests.factories import OrganisationFactory

CITY_NUMBER = "+865722251885"
PROVINCE_NUMBER = "+8657187812356"


@pytest.fixture
def province(network):
    from hotline.models import CentreRouting, HotlineLine

    centre = OrganisationFactory(
        code="zj12356", name="省12356中心", kind="hotline_centre", region=network["city"]
    )
    HotlineLine.objects.create(number=PROVINCE_NUMBER, organisation=centre)
    HotlineLine.objects.create(number=CITY_NUMBER, organisation=network["hotline"])
    CentreRouting.objects.create(centre=centre, open_24h=True)
    return centre


@pytest.fixture
def routing(network, province):
    """The city line overflows to the province (open 24h here; tests close it as they need)."""
    from hotline.models import CentreRouting

    return CentreRouting.objects.create(
        centre=network["hotline"], partner=province, open_24h=True, overflow_after_seconds=60
    )


@pytest.fixture
def operator12356(province):
    return _member("operator12356", province, "operator")


@pytest.fixture
def coordinator12356(province):
    return _member("coordinator12356", province, "coordinator")


def close_now(routing):
    """Hours that start an hour from now: the centre is closed at this moment."""
    now = timezone.localtime()
    routing.open_24h = False
    routing.opens_at = (now + timedelta(hours=1)).time()
    routing.closes_at = (now + timedelta(hours=2)).time()
    routing.save()
