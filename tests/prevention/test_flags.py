"""Flags to discovery: item 9 and the cut-offs open a case with a task and its deadline."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from core.errors import Conflict, Forbidden, Invalid
from escalation.models import Alert
from escalation.sources import poll_sources
from hotline.models import Stage
from prevention import services
from prevention.models import Participation, ScreeningResponse, ScreeningTask
from realtime.models import Event
from tests.prevention.conftest import answer


def slips(campaign):
    return list(campaign.participations.order_by("pk"))


def test_an_unflagged_answer_is_kept_against_the_campaign_with_no_person(campaign):
    slip = answer(slips(campaign)[0], phq9=[1] * 8 + [0], gad7=[1] * 7)  # 8 and 7: mild
    slip.refresh_from_db()
    assert slip.answered_at and not slip.flagged and slip.person is None and slip.case is None
    r = ScreeningResponse.objects.get(participation=slip)
    assert (r.phq9_total, r.phq9_band, r.gad7_total, r.gad7_band) == (8, "mild", 7, "mild")
    assert not ScreeningTask.objects.exists()


def test_item9_opens_a_discovery_case_with_a_same_day_task_and_an_alert(campaign, teacher):
    slip = answer(slips(campaign)[0], phq9=[0] * 8 + [1])
    slip.refresh_from_db()
    assert slip.flagged and slip.case.stage == Stage.DISCOVERY and slip.case.risk == "high"
    assert slip.case.owning_organisation == campaign.organisation
    assert slip.case.owner == teacher
    assert slip.person.is_anonymous
    task = ScreeningTask.objects.get(participation=slip)
    assert task.reason == "item9" and task.assignee == teacher
    assert timezone.localtime(task.due_at).date() == timezone.localdate()
    alert = Alert.objects.get(dedup_key=f"screening:{task.pk}:item9")
    assert alert.state == "open" and alert.severity == "critical" and alert.case == slip.case
    flagged = Event.objects.get(type="screening.flagged", case=slip.case)
    assert flagged.data["scores"]["phq9"] == {"total": 1, "band": "minimal", "item9": 1}

    services.acknowledge_task(teacher, task)
    alert.refresh_from_db()
    assert alert.state == "resolved"
    with pytest.raises(Conflict):
        services.acknowledge_task(teacher, task)


@pytest.mark.parametrize(
    ("phq9", "gad7", "reason"),
    [
        ([2] * 7 + [1, 0], [0] * 7, "phq9"),  # PHQ-9 15
        ([0] * 9, [3, 3, 3, 3, 3, 0, 0], "gad7"),  # GAD-7 15
    ],
)
def test_totals_at_the_cut_off_flag_with_a_deadline_in_days(campaign, phq9, gad7, reason):
    before = timezone.now()
    slip = answer(slips(campaign)[0], phq9=phq9, gad7=gad7)
    task = ScreeningTask.objects.get(participation=slip)
    assert task.reason == reason and slip.case.stage == Stage.DISCOVERY
    assert task.due_at >= before + timedelta(days=3) - timedelta(seconds=5)
    assert not Alert.objects.filter(kind="screening_item9").exists()


def test_just_below_the_cut_off_in_the_moderate_band_keeps_the_student_in_prevention(campaign):
    slip = answer(slips(campaign)[0], phq9=[2] * 7 + [0, 0])  # 14: moderate
    slip.refresh_from_db()
    assert not slip.flagged and slip.watched
    assert slip.case.stage == Stage.PREVENTION
    assert ScreeningTask.objects.get(participation=slip).reason == "watch"


@override_settings(PREVENTION_PHQ9_CUTOFF=10, PREVENTION_WATCH_BANDS=[])
def test_the_cut_offs_and_watch_bands_are_configurable(campaign):
    slip = answer(slips(campaign)[0], phq9=[2] * 5 + [0] * 4)  # 10
    slip.refresh_from_db()
    assert slip.flagged and slip.case.stage == Stage.DISCOVERY
    quiet = answer(slips(campaign)[1], phq9=[0] * 9, gad7=[2] * 5 + [0, 0])  # GAD-7 10
    quiet.refresh_from_db()
    assert not quiet.flagged and not quiet.watched and quiet.case is None


def test_a_code_is_used_once(campaign):
    slip = slips(campaign)[0]
    answer(slip)
    with pytest.raises(Invalid) as exc:
        answer(slip)
    assert exc.value.code == "bad_code"
    assert ScreeningResponse.objects.count() == 1


def test_without_the_consent_the_rule_asks_for_nothing_is_kept(campaign):
    slip = slips(campaign)[0]
    with pytest.raises(Invalid):
        answer(slip, consent_by="self", minor=True)
    slip.refresh_from_db()
    assert slip.answered_at is None and not ScreeningResponse.objects.exists()


def test_an_incomplete_questionnaire_keeps_nothing_and_names_the_items(campaign):
    slip = slips(campaign)[0]
    with pytest.raises(Invalid) as exc:
        services.submit_answers(
            slip.code,
            consent_by="guardian",
            consented_at=timezone.now(),
            answers={"phq9": [0] * 8 + [None], "gad7": [0] * 7},
            guardian_minor=True,
        )
    assert list(exc.value.fields) == ["phq9_9"]
    assert not ScreeningResponse.objects.exists()


def test_a_closed_campaign_takes_no_answers(campaign, teacher):
    services.close_campaign(teacher, campaign)
    with pytest.raises(Invalid):
        answer(slips(campaign)[0])


def test_an_unacknowledged_task_past_its_deadline_alerts_and_clears_when_taken(campaign, teacher):
    slip = answer(slips(campaign)[0], phq9=[3] * 6 + [0] * 3)  # 18
    task = ScreeningTask.objects.get(participation=slip)
    poll_sources(task.due_at + timedelta(minutes=1))
    alert = Alert.objects.get(dedup_key=f"screening:{task.pk}:due")
    assert alert.kind == "screening_task_overdue" and alert.target_user == teacher
    services.finish_task(teacher, task, note="已约谈学生和家长")
    alert.refresh_from_db()
    assert alert.state == "resolved"


def test_another_school_cannot_act_on_the_task(campaign, other_teacher):
    slip = answer(slips(campaign)[0], phq9=[0] * 8 + [2])
    task = ScreeningTask.objects.get(participation=slip)
    with pytest.raises(Forbidden):
        services.acknowledge_task(other_teacher, task)
    with pytest.raises(Forbidden):
        services.add_slips(other_teacher, campaign, group="x", count=1)


def test_a_campaign_needs_a_school_or_centre_and_known_questionnaires(teacher, school, network):
    today = timezone.localdate()
    with pytest.raises(Invalid) as exc:
        services.create_campaign(
            teacher,
            name="x",
            organisation=school,
            questionnaires=["bdi"],
            starts_on=today,
            ends_on=today - timedelta(days=1),
            follow_up_organisation=network["police"],
        )
    assert set(exc.value.fields) == {"questionnaires", "ends_on", "follow_up_organisation"}
    assert not Participation.objects.exists()
