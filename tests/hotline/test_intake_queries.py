"""The incoming-call webhook's database work is pinned, so intake cannot silently slow down.

Counts include the SAVEPOINT/RELEASE pair of ``receive_call``'s transaction (tests run inside a
transaction); in production those two are BEGIN/COMMIT.
"""

from hotline.models import Call, Person, StageVisit
from realtime.models import Event


def test_an_unknown_caller_is_queued_in_at_most_13_queries(
    network, incoming, django_assert_max_num_queries
):
    from hotline import services

    services.hotline_for_webhook()  # the centre is looked up once per process
    with django_assert_max_num_queries(13):
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


def test_a_known_caller_is_queued_in_at_most_10_queries(
    network, incoming, hotline_case, operator, django_assert_max_num_queries
):
    from hotline import services

    services.set_risk(operator, hotline_case, "high")
    services.hotline_for_webhook()  # the centre is looked up once per process
    with django_assert_max_num_queries(10):
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
