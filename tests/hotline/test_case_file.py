"""The case file: one open case per person, the loop's transitions, and who may touch a case."""

import pytest
from django.db import IntegrityError, transaction

from core.errors import Conflict, Forbidden
from hotline import services
from hotline.models import Case, CaseAccess, StageVisit
from realtime.models import Event
from tests.factories import PersonFactory


def test_it_opens_a_case_in_discovery_with_a_stage_visit_and_an_event(operator, hotline_case):
    assert hotline_case.stage == "discovery"
    assert list(hotline_case.stage_visits.values_list("stage", flat=True)) == ["discovery"]
    event = Event.objects.get(case=hotline_case, type="case.opened")
    assert event.actor == operator
    assert event.data["risk"] == "moderate"


def test_it_refuses_a_second_open_case_for_one_person(network, operator, hotline_case):
    with pytest.raises(Conflict, match=f"#{hotline_case.pk}"):
        services.open_case(
            operator, person=hotline_case.person, owning_organisation=network["hotline"]
        )
    assert Case.objects.filter(person=hotline_case.person).count() == 1


def test_the_database_itself_refuses_a_second_open_case(network, hotline_case):
    with pytest.raises(IntegrityError), transaction.atomic():
        Case.objects.create(person=hotline_case.person, owning_organisation=network["hotline"])


def test_a_closed_case_does_not_block_a_new_one(network, operator, coordinator, hotline_case):
    services.close_case(coordinator, hotline_case, reason="resolved")
    again = services.open_case(
        operator, person=hotline_case.person, owning_organisation=network["hotline"]
    )
    assert again.pk != hotline_case.pk
    assert again.stage == "discovery"


def test_it_advances_forward_and_keeps_the_time_of_each_stage(operator, hotline_case):
    services.advance_case(operator, hotline_case, "intervention")
    case = services.advance_case(operator, hotline_case, "treatment", reason="admitted")
    visits = list(StageVisit.objects.filter(case=case).order_by("id"))
    assert [v.stage for v in visits] == ["discovery", "intervention", "treatment"]
    assert all(v.left_at for v in visits[:-1]) and visits[-1].left_at is None
    assert case.stage_entered_at == visits[-1].entered_at
    changed = Event.objects.filter(case=case, type="case.stage_changed").last()
    assert changed.data == {"from": "intervention", "to": "treatment", "reason": "admitted"}


def test_an_illegal_transition_is_refused_and_writes_nothing(operator, hotline_case):
    services.advance_case(operator, hotline_case, "treatment")
    events = Event.objects.count()
    with pytest.raises(Conflict, match="only moves forward"):
        services.advance_case(operator, hotline_case, "intervention")
    hotline_case.refresh_from_db()
    assert hotline_case.stage == "treatment"
    assert Event.objects.count() == events


def test_the_stage_field_cannot_be_set_by_hand(hotline_case):
    with pytest.raises(AttributeError):
        hotline_case.stage = "closed"


def test_closing_needs_a_coordinator_or_the_owner(operator, coordinator, hotline_case):
    with pytest.raises(Forbidden):
        services.close_case(operator, hotline_case, reason="done")
    case = services.close_case(coordinator, hotline_case, reason="loop complete")
    assert case.stage == "closed" and case.closed_at is not None
    assert not case.stage_visits.filter(left_at__isnull=True).exists()


def test_a_registered_close_check_holds_the_case_open(coordinator, hotline_case):
    from hotline import closing

    def open_follow_up(case):
        return ["a follow-up is still open"]

    closing.register_close_check(open_follow_up)
    try:
        with pytest.raises(Conflict, match="a follow-up is still open"):
            services.close_case(coordinator, hotline_case, reason="done")
    finally:
        closing._checks.remove(open_follow_up)
    hotline_case.refresh_from_db()
    assert hotline_case.stage == "discovery"


def test_reopen_is_refused_while_the_person_has_another_open_case(
    network, operator, coordinator, hotline_case
):
    services.close_case(coordinator, hotline_case, reason="resolved")
    services.open_case(operator, person=hotline_case.person, owning_organisation=network["hotline"])
    with pytest.raises(Conflict, match="another open case"):
        services.reopen_case(operator, hotline_case, reason="called again")
    hotline_case.refresh_from_db()
    assert hotline_case.stage == "closed"


def test_another_organisation_cannot_change_the_case(counsellor_b, nurse, hotline_case):
    for user in (counsellor_b, nurse):
        with pytest.raises(Forbidden):
            services.advance_case(user, hotline_case, "intervention")
        with pytest.raises(Forbidden):
            services.set_risk(user, hotline_case, "high")
    hotline_case.refresh_from_db()
    assert (hotline_case.stage, hotline_case.risk) == ("discovery", "moderate")


def test_a_grant_opens_the_case_to_the_receiving_organisation(
    network, operator, counsellor_a, counsellor_b, hotline_case
):
    services.grant_access(hotline_case, network["centre_a"], reason="referral", granted_by=operator)
    services.advance_case(counsellor_a, hotline_case, "intervention")
    with pytest.raises(Forbidden):
        services.advance_case(counsellor_b, hotline_case, "assistance")
    assert CaseAccess.objects.filter(case=hotline_case).count() == 1


def test_a_decision_maker_or_responder_opens_no_case(network, decision_maker, responder):
    person = PersonFactory()
    for user in (decision_maker, responder):
        with pytest.raises(Forbidden):
            services.open_case(user, person=person, owning_organisation=network["hotline"])
    assert not Case.objects.exists()
