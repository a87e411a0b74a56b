"""A flagged student's screening task is the case's next step, due at its deadline."""

import pytest
from django.utils import translation

from hotline.caseplan import DECIDE
from prevention import services
from prevention.models import ScreeningTask
from realtime.models import Event
from tests.prevention.conftest import answer


@pytest.fixture
def flagged(campaign):
    with translation.override("zh-hans"):
        slip = answer(campaign.participations.order_by("pk").first(), phq9=[0] * 8 + [2])
    return ScreeningTask.objects.get(participation=slip)


def test_the_screening_task_is_the_next_step_until_it_is_done(flagged, teacher, school):
    case = flagged.case
    case.refresh_from_db()
    assert case.next_step_kind == "screening"
    assert case.next_step == "跟进筛查预警（PHQ-9 第9题阳性，初二心理筛查）"
    assert case.next_step_due == flagged.due_at
    # The school's psychology teacher answers for the case, not a hotline coordinator.
    assert (case.responsible_role, case.responsible_organisation, case.responsible_user) == (
        "follow_up_assignee",
        school,
        teacher,
    )
    assert Event.objects.filter(type="case.next_step_set", case=case).exists()

    services.acknowledge_task(teacher, flagged)
    case.refresh_from_db()
    assert case.next_step_kind == "screening" and case.next_step_due == flagged.due_at

    services.finish_task(teacher, flagged, note="已与学生和家长面谈，转介心理咨询中心")
    case.refresh_from_db()
    assert case.next_step_kind == DECIDE
    assert case.responsible_role == "coordinator"


def test_without_a_named_person_the_follow_up_organisation_answers(campaign, school):
    campaign.follow_up_user = None
    campaign.save(update_fields=["follow_up_user"])
    slip = answer(campaign.participations.order_by("pk").first(), phq9=[2] * 7 + [1, 0])
    task = ScreeningTask.objects.get(participation=slip)
    case = task.case
    case.refresh_from_db()
    assert case.next_step_kind == "screening" and case.next_step_due == task.due_at
    assert case.responsible_organisation == school and case.responsible_user is None
