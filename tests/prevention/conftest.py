from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from prevention import services
from tests.conftest import _member
from tests.factories import OrganisationFactory


@pytest.fixture(autouse=True)
def fresh_throttle():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def school(network):
    return OrganisationFactory(code="school-1", kind="school", region=network["village"])


@pytest.fixture
def other_school(network):
    return OrganisationFactory(code="school-2", kind="school", region=network["deqing"])


@pytest.fixture
def teacher(school):
    """The school's psychology teacher: a counsellor of the school."""
    return _member("teacher", school, "counsellor")


@pytest.fixture
def other_teacher(other_school):
    return _member("teacher2", other_school, "counsellor")


@pytest.fixture
def campaign(teacher, school):
    today = timezone.localdate()
    c = services.create_campaign(
        teacher,
        name="初二心理筛查",
        organisation=school,
        questionnaires=["phq9", "gad7"],
        starts_on=today - timedelta(days=1),
        ends_on=today + timedelta(days=7),
        follow_up_organisation=school,
        follow_up_user=teacher,
    )
    services.add_slips(teacher, c, group="初二(3)班", count=5)
    return c


def answer(slip, phq9=None, gad7=None, consent_by="guardian", minor=True):
    return services.submit_answers(
        slip.code,
        consent_by=consent_by,
        consented_at=timezone.now(),
        answers={"phq9": phq9 or [0] * 9, "gad7": gad7 or [0] * 7},
        guardian_minor=minor,
    )
