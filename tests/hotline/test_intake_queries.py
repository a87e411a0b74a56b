"""The incoming-call webhook's database work is pinned, so intake cannot silently slow down.

Counts include the SAVEPOINT/RELEASE pair of ``receive_call``'s transaction (tests run inside a
transaction); in production those two are BEGIN/COMMIT.
"""

from hotline.models import Call, Person, StageVisit
from realtime.models import Event


def _on_postgresql(statements: int, elsewhere: int) -> int:
    # PostgreSQL takes each write as one statement; the embedded SQLite one INSERT per row.
    from django.db import connection

    return statements if connection.vendor == "postgresql" else elsewhere


def test_an_unknown_caller_is_queued_in_at_most_6_queries(
    network, incoming, django_assert_max_num_queries
):
    from hotline import services

    services.hotline_for_webhook()  # the centre is looked up once per process
    # The look-up, one write for person/case/visit/call, one for both events, and at most once
    # a second the queue count for a surge.
    with django_assert_max_num_queries(_on_postgresql(6, 12)):
        response = incoming("CA" + "e" * 32, from_="+8613900000321")
    assert response.status_code == 200
    call = Call.objects.get(call_sid="CA" + "e" * 32)
    # Still a new person with a case in discovery, its first stage visit, and both events.
    assert call.person.phone == "+8613900000321" and not call.person.is_anonymous
    assert call.case.stage == "discovery" and call.case.person == call.person
    assert StageVisit.objects.filter(case=call.case, stage="discovery").count() == 1
    assert list(Event.objects.filter(case=call.case).values_list("type", flat=True)) == [
        "case.opened",
        "call.queued",
    ]


def test_a_known_caller_is_queued_in_at_most_6_queries(
    network, incoming, hotline_case, operator, django_assert_max_num_queries
):
    from hotline import services

    services.set_risk(operator, hotline_case, "high")
    services.hotline_for_webhook()  # the centre is looked up once per process
    with django_assert_max_num_queries(_on_postgresql(6, 7)):
        incoming("CA" + "f" * 32, from_=str(hotline_case.person.phone))
    call = Call.objects.get(call_sid="CA" + "f" * 32)
    assert call.person == hotline_case.person and call.case == hotline_case
    assert call.priority_reasons == ["known_high_risk"]
    assert Person.objects.filter(phone=hotline_case.person.phone).count() == 1


def test_a_closed_case_is_not_reused_and_a_new_one_opens(
    network, incoming, hotline_case, coordinator
):
    from hotline import services

    services.close_case(coordinator, hotline_case, reason="done")
    incoming("CA" + "9" * 32, from_=str(hotline_case.person.phone))
    call = Call.objects.get(call_sid="CA" + "9" * 32)
    assert call.person == hotline_case.person
    assert call.case != hotline_case and call.case.stage == "discovery"


def test_a_known_case_shared_with_another_organisation_is_announced_to_it_too(
    network, incoming, hotline_case
):
    from hotline import services

    services.grant_access(hotline_case, network["centre_a"], reason="referral")
    incoming("CA" + "8" * 32, from_=str(hotline_case.person.phone))
    queued = Event.objects.get(type="call.queued")
    assert set(queued.audience_rows.values_list("audience", flat=True)) == {
        f"org:{network['hotline'].pk}",
        f"org:{network['centre_a'].pk}",
    }


def test_the_hotline_centre_is_looked_up_again_after_an_organisation_changes(network):
    import pytest

    from core.errors import NotFound
    from hotline import services

    assert services.hotline_for_webhook() == network["hotline"]
    network["hotline"].is_active = False
    network["hotline"].save()
    with pytest.raises(NotFound):
        services.hotline_for_webhook()


def test_rows_written_by_intake_are_the_rows_the_orm_would_write(network):
    """``intake.write_rows`` (one chained statement on PostgreSQL) against ``Model.save``."""
    from datetime import UTC, datetime

    from hotline import intake
    from hotline.models import Call, Case

    at = datetime(2026, 11, 28, 3, 4, 5, 678901, tzinfo=UTC)
    written = {}
    for how in ("intake", "orm"):
        person = Person(phone="+8613900000777", name="张三", is_anonymous=False)
        case = Case(
            person=person,
            owning_organisation=network["hotline"],
            risk="high",
            stage="discovery",
            stage_entered_at=at,
            opened_at=at,
        )
        call = Call(
            call_sid=f"CA-{how}",
            hotline=network["hotline"],
            channel="twilio_voice",
            from_number="+8613900000777",
            person=person,
            case=case,
            priority=100,
            priority_reasons=["known_high_risk"],
            rank_at=at,
            queued_at=at,
        )
        if how == "intake":
            intake.write_rows(
                [
                    ("person", person, {}),
                    ("case_", case, {"person_id": "person"}),
                    ("call", call, {"person_id": "person", "case_id": "case_"}),
                ]
            )
        else:
            person.save()
            case.person = person
            case.save()
            call.person, call.case = person, case
            call.save()
        written[how] = [
            Model.objects.filter(pk=obj.pk).values().get()
            for Model, obj in ((Person, person), (Case, case), (Call, call))
        ]
    skip = {"id", "person_id", "case_id", "call_sid", "created_at", "updated_at"}
    for mine, theirs in zip(written["intake"], written["orm"], strict=True):
        assert {k: v for k, v in mine.items() if k not in skip} == {
            k: v for k, v in theirs.items() if k not in skip
        }
    assert written["intake"][2]["queued_at"] == at  # microseconds kept
    assert written["intake"][2]["case_id"] == written["intake"][1]["id"]
