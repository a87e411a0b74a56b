"""The person: further numbers (one person per number), search by name, alias, part of a number
and case number (trigram on PostgreSQL), caller flags with expiry, merging two records."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import Conflict, Forbidden, Invalid
from hotline import selectors, services
from hotline.models import Case, Person, PersonFlag
from realtime.models import Event


def person_with_case(actor, network, **fields):
    person = services.create_person(actor, **fields)
    services.open_case(actor, person=person, owning_organisation=network["hotline"])
    return person


def test_a_further_number_belongs_to_one_person(operator, network):
    first = person_with_case(operator, network, name="甲", phone="+8613900007001")
    second = person_with_case(operator, network, name="乙", phone="+8613900007002")
    services.update_person(operator, first, phones=["+8613900007011"])
    assert [str(p.number) for p in first.phones.all()] == ["+8613900007011"]
    # Another person's first number, or their further one, is refused beside the field.
    for taken in ("+8613900007001", "+8613900007011"):
        with pytest.raises(Invalid) as refused:
            services.update_person(operator, second, phones=[taken])
        assert "phones" in refused.value.fields
    with pytest.raises(Invalid) as refused:
        services.update_person(operator, second, phone="+8613900007011")
    assert "phone" in refused.value.fields
    assert second.phones.count() == 0
    # A call from the further number finds the person.
    assert selectors.person_with_number("+8613900007011") == first


def test_a_name_makes_an_anonymous_caller_known(operator, network):
    person = person_with_case(operator, network, is_anonymous=True)
    assert str(person).startswith("Anonymous")
    services.update_person(operator, person, name="李明", alias="小明", language="dialect")
    person.refresh_from_db()
    assert not person.is_anonymous
    assert str(person) == "李明（小明）"


@pytest.mark.parametrize(
    "query", ["李明", "小明", "0002", "138 0000 0002", "+86-138-0000-0002", "13800000002"]
)
def test_search_finds_by_name_alias_and_any_format_of_a_number(operator, network, query):
    wanted = person_with_case(operator, network, name="李明", alias="小明", phone="+8613800000002")
    person_with_case(operator, network, name="王芳", phone="+8613900000099")
    assert list(selectors.search_people(operator, query)) == [wanted]


def test_search_finds_by_a_further_number_and_a_case_number(operator, network):
    wanted = person_with_case(operator, network, name="李明", phone="+8613800000002")
    services.update_person(operator, wanted, phones=["+8613355556666"])
    case = wanted.cases.get()
    assert list(selectors.search_people(operator, "5556")) == [wanted]
    assert wanted in selectors.search_people(operator, f"#{case.pk}")
    assert list(selectors.search_people(operator, "123")) == []  # under 4 digits: no number


def test_search_shows_only_what_the_searcher_may_see(operator, counsellor_a, outsider, network):
    person_with_case(operator, network, name="李明", phone="+8613800000002")
    assert list(selectors.search_people(counsellor_a, "李明")) == []
    assert list(selectors.search_people(outsider, "0002")) == []


def test_get_people_search_is_audited_and_keeps_refusing_a_whole_number(
    operator, network, client_for
):
    wanted = person_with_case(operator, network, name="李明", phone="+8613800000002")
    client = client_for(operator)
    response = client.get("/api/v1/people/", {"search": "0000 0002"})
    assert response.status_code == 200
    assert [p["id"] for p in response.json()["results"]] == [wanted.pk]
    read = Event.objects.filter(type="case.read").latest("id")
    assert read.data["people"] == [wanted.pk]
    assert client.get("/api/v1/people/", {"phone": "13800000002"}).status_code == 400


@pytest.mark.postgres
def test_trigram_search_forgives_a_typing_mistake(operator, network):
    wanted = person_with_case(operator, network, name="Zhang Xiaoming", phone="+8613800000002")
    person_with_case(operator, network, name="Li Fang", phone="+8613900000099")
    # Neither a part of the name nor of the number: only similarity finds it.
    assert list(selectors.search_people(operator, "Zhang Xiaomin g")) == [wanted]


def test_flags_have_who_why_and_expiry(operator, network, client_for):
    person = person_with_case(operator, network, name="李明", phone="+8613800000002")
    client = client_for(operator)
    url = f"/api/v1/people/{person.pk}/flags/"
    assert client.post(url, {"kind": "abusive", "reason": ""}, format="json").status_code == 400
    past = (timezone.now() - timedelta(hours=1)).isoformat()
    refused = client.post(url, {"kind": "abusive", "reason": "辱骂", "expires_at": past})
    assert refused.status_code == 400 and "expires_at" in refused.json()["fields"]
    soon = timezone.now() + timedelta(days=1)
    made = client.post(
        url,
        {"kind": "frequent_caller", "reason": "每天来电", "expires_at": soon.isoformat()},
        format="json",
    )
    assert made.status_code == 201, made.json()
    client.post(url, {"kind": "known_high_risk", "reason": "多次自伤"}, format="json")
    flag = PersonFlag.objects.get(kind="frequent_caller")
    assert (flag.set_by, flag.reason) == (operator, "每天来电")
    assert {f.kind for f in person.flags.active()} == {"frequent_caller", "known_high_risk"}
    # Past its expiry a flag is no longer shown; a cleared one neither.
    assert {f.kind for f in person.flags.active(soon + timedelta(seconds=1))} == {"known_high_risk"}
    high = PersonFlag.objects.get(kind="known_high_risk")
    cleared = client.post(f"{url}{high.pk}/clear/", {"reason": "已好转"}, format="json")
    assert cleared.status_code == 200
    shown = client.get(f"/api/v1/people/{person.pk}/").json()["flags"]
    assert [f["kind"] for f in shown] == ["frequent_caller"]
    assert Event.objects.filter(type="person.flagged").count() == 2


def test_flags_ride_on_the_call_before_it_is_answered(operator, network, client_for):
    person = person_with_case(operator, network, name="李明", phone="+8613800000002")
    services.set_flag(operator, person, kind="do_not_call_back", reason="家人电话")
    services.enter_manual_call(operator, channel="walk_in", from_number="+8613800000002")
    queue = client_for(operator).get("/api/v1/calls/", {"view": "queue"}).json()["results"]
    assert [f["kind"] for f in queue[0]["person_flags"]] == ["do_not_call_back"]


def test_a_person_outside_ones_cases_cannot_be_flagged(operator, counsellor_a, network):
    person = person_with_case(operator, network, name="李明")
    with pytest.raises(Forbidden):
        services.set_flag(counsellor_a, person, kind="abusive", reason="x")


def test_merging_moves_cases_calls_numbers_and_flags_and_closes_the_second_open_case(
    operator, coordinator, network
):
    keep = person_with_case(operator, network, name="李明", phone="+8613800000002")
    other = person_with_case(operator, network, alias="小明", phone="+8613900000003")
    services.set_flag(operator, other, kind="frequent_caller", reason="每天来电")
    call = services.enter_manual_call(operator, channel="walk_in", from_number="+8613900000003")
    assert call.person == other
    other_case = other.cases.get()

    merged = services.merge_people(coordinator, keep, other, reason="同一人，两个号码")

    other.refresh_from_db()
    other_case.refresh_from_db()
    assert other.merged_into == merged and other.phone == ""
    assert merged.alias == "小明"  # filled from the other record
    assert [str(p.number) for p in merged.phones.all()] == ["+8613900000003"]
    assert set(Case.objects.filter(person=merged)) == {keep.cases.open().get(), other_case}
    assert other_case.stage == "closed" and "同一人" in other_case.close_reason
    call.refresh_from_db()
    assert call.person == merged and call.case == keep.cases.open().get()
    assert merged.flags.active().get().kind == "frequent_caller"
    event = Event.objects.get(type="person.merged")
    assert event.actor == coordinator and event.data["merged"] == other.pk
    # The next call from the merged number goes to the kept person.
    assert selectors.person_with_number("+8613900000003") == merged
    assert list(selectors.search_people(coordinator, "0003")) == [merged]


def test_merging_needs_a_coordinator_and_a_reason(operator, coordinator, network, client_for):
    keep = person_with_case(operator, network, name="李明")
    other = person_with_case(operator, network, name="李明")
    with pytest.raises(Forbidden):
        services.merge_people(operator, keep, other, reason="同一人")
    denied = client_for(operator).post(
        f"/api/v1/people/{keep.pk}/merge/", {"other": other.pk, "reason": "同一人"}, format="json"
    )
    assert denied.status_code == 403
    with pytest.raises(Invalid):
        services.merge_people(coordinator, keep, other, reason=" ")
    with pytest.raises(Invalid):
        services.merge_people(coordinator, keep, keep, reason="同一人")
    assert Person.objects.filter(merged_into__isnull=False).count() == 0
    done = client_for(coordinator).post(
        f"/api/v1/people/{keep.pk}/merge/", {"other": other.pk, "reason": "同一人"}, format="json"
    )
    assert done.status_code == 200, done.json()
    # The merged-away record has no case left, so nobody but an administrator sees it.
    with pytest.raises(Forbidden):
        services.merge_people(coordinator, keep, other, reason="again")


def test_merging_twice_is_a_conflict(administrator, network):
    keep = person_with_case(administrator, network, name="李明")
    other = person_with_case(administrator, network, name="李明")
    services.merge_people(administrator, keep, other, reason="同一人")
    with pytest.raises(Conflict):
        services.merge_people(administrator, keep, other, reason="again")


def test_merging_refuses_while_the_second_open_case_has_open_work(operator, coordinator, network):
    from hotline.closing import register_close_check

    keep = person_with_case(operator, network, name="李明")
    other = person_with_case(operator, network, name="李明")
    blocked = other.cases.get().pk
    check = register_close_check(lambda case: ["转介未完成"] if case.pk == blocked else [])
    try:
        with pytest.raises(Conflict) as refused:
            services.merge_people(coordinator, keep, other, reason="同一人")
    finally:
        from hotline import closing

        closing._checks.remove(check)
    assert "转介未完成" in refused.value.message
    assert Case.objects.get(pk=blocked).person == other


def test_the_merge_page_is_for_coordinators_and_says_what_is_wrong_beside_the_field(
    operator, coordinator, network, client
):
    from tests.conftest import sign_in

    keep = person_with_case(operator, network, name="李明")
    other = person_with_case(operator, network, name="李明")
    url = f"/console/people/{keep.pk}/merge/"
    sign_in(client, operator)
    assert client.get(url).status_code == 403
    sign_in(client, coordinator)
    assert client.get(url).status_code == 200
    refused = client.post(url, {"other": other.pk, "reason": ""})
    assert refused.status_code == 200
    assert 'id="reason-error"' in refused.content.decode()
    unknown = client.post(url, {"other": 999999, "reason": "同一人"})
    assert 'id="other-error"' in unknown.content.decode()
    assert Person.objects.filter(merged_into__isnull=False).count() == 0
    done = client.post(url, {"other": other.pk, "reason": "同一人"})
    assert done.status_code == 302
    other.refresh_from_db()
    assert other.merged_into == keep


def test_a_patch_answers_with_every_field_of_the_person(operator, network, client_for):
    """A partial update's answer is the whole person (DRF would drop a sourced default there)."""
    person = services.create_person(operator, name="", phone="+8613900000911")
    services.open_case(operator, person=person, owning_organisation=network["hotline"])
    response = client_for(operator).patch(f"/api/v1/people/{person.pk}/", {}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["home_region_name"] == ""
