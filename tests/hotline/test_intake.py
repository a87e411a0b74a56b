"""An incoming call is queued by the ORM's ordinary writes: the person by number, their one open
case (opened by the same writer as ``open_case``), the call and its events, an offer to a free
operator; with a bound on its queries so intake cannot silently grow."""

import pytest
from django.db.models.signals import post_save

from core.errors import Invalid
from hotline import services
from hotline.models import Call, Case, Person, StageVisit
from realtime.models import Event

# An unknown caller (PostgreSQL, measured): the centre, the number, person, case, first stage
# visit, ``case.opened`` (2), the call, ``call.queued`` (3), the free operators, the queue count,
# and the transaction's two statements: 15; then the person's other numbers (PersonPhone) and who
# answers for the new case (the on-duty coordinator by the roster): 17; then the queued text
# conversations, which an operator holding a chat may still be offered with nobody free: 18;
# then the line dialled, read for its centre and again for its recording announcement (2), and
# the centre's routing (open now? overflow to the partner at arrival): 21.
MAX_QUERIES = 22


def test_an_unknown_caller_gets_a_person_a_case_and_a_queued_call(
    network, incoming, django_assert_max_num_queries
):
    with django_assert_max_num_queries(MAX_QUERIES):
        response = incoming("CA" + "e" * 32, from_="+8613900000321")
    assert response.status_code == 200
    call = Call.objects.get(call_sid="CA" + "e" * 32)
    assert call.status == "queued" and call.hotline == network["hotline"]
    assert call.person.phone == "+8613900000321" and not call.person.is_anonymous
    assert call.case.stage == "discovery" and call.case.person == call.person
    assert call.case.owning_organisation == network["hotline"] and call.case.district is None
    assert StageVisit.objects.filter(case=call.case, stage="discovery").count() == 1
    assert list(Event.objects.filter(case=call.case).values_list("type", flat=True)) == [
        "case.opened",
        "call.queued",
    ]


def test_a_known_caller_joins_their_open_case_and_a_high_risk_one_goes_first(
    network, incoming, hotline_case, operator, django_assert_max_num_queries
):
    services.set_risk(operator, hotline_case, "high")
    opened = Event.objects.filter(type="case.opened").count()
    with django_assert_max_num_queries(MAX_QUERIES):
        incoming("CA" + "f" * 32, from_=str(hotline_case.person.phone))
    call = Call.objects.get(call_sid="CA" + "f" * 32)
    assert call.person == hotline_case.person and call.case == hotline_case
    assert call.priority_reasons == ["known_high_risk"] and call.priority == 100
    assert Person.objects.filter(phone=hotline_case.person.phone).count() == 1
    assert Event.objects.filter(type="case.opened").count() == opened


def test_a_number_names_one_person_so_a_second_is_refused_and_the_call_finds_the_first(
    network, incoming, operator
):
    first = services.create_person(operator, name="旧", phone="+8613900000444")
    with pytest.raises(Invalid):
        services.create_person(operator, name="新", phone="+8613900000444")
    incoming("CA" + "a" * 32, from_="+8613900000444")
    call = Call.objects.get(call_sid="CA" + "a" * 32)
    assert call.person == first


def test_a_withheld_number_is_a_new_anonymous_person_each_time(network, incoming):
    incoming("CA" + "b" * 32, from_="anonymous")
    incoming("CA" + "c" * 32, from_="")
    first, second = (Call.objects.get(call_sid="CA" + x * 32) for x in "bc")
    assert first.person != second.person
    assert first.person.is_anonymous and second.person.is_anonymous
    assert first.from_raw == "anonymous" and not first.from_number


def test_a_closed_case_is_not_reused_and_a_new_one_opens(
    network, incoming, hotline_case, coordinator
):
    services.close_case(coordinator, hotline_case, reason="done")
    incoming("CA" + "9" * 32, from_=str(hotline_case.person.phone))
    call = Call.objects.get(call_sid="CA" + "9" * 32)
    assert call.person == hotline_case.person
    assert call.case != hotline_case and call.case.stage == "discovery"
    assert Case.objects.filter(person=call.person).open().get() == call.case


def test_a_call_is_announced_to_its_hotline_not_to_the_organisations_sharing_the_case(
    network, incoming, hotline_case
):
    # Calls (the caller's number, triage) are the hotline's: a centre the case was referred to
    # reads the case, not its calls (hotline.selectors.visible_calls), so it hears none of them.
    services.grant_access(hotline_case, network["centre_a"], reason="referral")
    incoming("CA" + "8" * 32, from_=str(hotline_case.person.phone))
    queued = Event.objects.get(type="call.queued")
    hotline = network["hotline"].pk
    assert set(queued.audience_rows.values_list("audience", flat=True)) == {
        f"orgrole:{hotline}:operator",
        f"orgrole:{hotline}:coordinator",
    }


def test_the_rows_are_written_by_model_save_so_receivers_see_them(network, incoming):
    seen = []

    def receiver(sender, instance, created, **kwargs):
        seen.append((sender.__name__, created))

    for model in (Person, Case, Call):
        post_save.connect(receiver, sender=model, weak=False)
    try:
        incoming("CA" + "7" * 32, from_="+8613900000888")
    finally:
        for model in (Person, Case, Call):
            post_save.disconnect(receiver, sender=model)
    assert seen == [("Person", True), ("Case", True), ("Call", True)]


def test_a_free_operator_is_offered_the_new_call(network, incoming, operator):
    services.set_presence(operator, status="available")
    incoming("CA" + "6" * 32, from_="+8613900000666")
    call = Call.objects.get(call_sid="CA" + "6" * 32)
    assert call.status == "offered" and call.offered_to == operator
    assert Event.objects.filter(type="call.offered", case=call.case).exists()


def test_the_hotline_centre_is_looked_up_again_after_it_changes(network):
    from core.errors import NotFound

    assert services.hotline_for_webhook() == network["hotline"]
    network["hotline"].is_active = False
    network["hotline"].save()
    with pytest.raises(NotFound):
        services.hotline_for_webhook()
