"""The cases and people API: visibility per organisation, clear errors, nothing written."""

from hotline.models import Case, Person
from realtime.models import Event


def test_it_lists_only_cases_the_users_organisation_may_see(
    client_for, operator, counsellor_a, outsider, decision_maker, hotline_case
):
    assert [c["id"] for c in client_for(operator).get("/api/v1/cases/").json()["results"]] == [
        hotline_case.pk
    ]
    for user in (counsellor_a, outsider, decision_maker):
        assert client_for(user).get("/api/v1/cases/").json()["results"] == []


def test_another_organisation_cannot_read_or_change_a_case(client_for, counsellor_b, hotline_case):
    client = client_for(counsellor_b)
    assert client.get(f"/api/v1/cases/{hotline_case.pk}/").status_code == 404
    assert client.get(f"/api/v1/cases/{hotline_case.pk}/timeline/").status_code == 404
    response = client.post(
        f"/api/v1/cases/{hotline_case.pk}/advance/", {"stage": "intervention"}, format="json"
    )
    assert response.status_code == 404
    hotline_case.refresh_from_db()
    assert hotline_case.stage == "discovery"


def test_anonymous_requests_are_refused(anonymous_api, hotline_case):
    assert anonymous_api.get("/api/v1/cases/").status_code == 401


def test_advancing_through_the_api_and_reading_the_timeline(client_for, operator, hotline_case):
    client = client_for(operator)
    response = client.post(
        f"/api/v1/cases/{hotline_case.pk}/advance/",
        {"stage": "intervention", "reason": "triaged"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["stage"] == "intervention"
    timeline = client.get(f"/api/v1/cases/{hotline_case.pk}/timeline/").json()
    assert [e["type"] for e in timeline] == ["case.opened", "case.stage_changed"]
    assert timeline[1]["data"]["reason"] == "triaged"
    assert timeline[1]["actor"] == str(operator)


def test_an_illegal_transition_is_a_409_with_a_message(client_for, operator, hotline_case):
    client = client_for(operator)
    client.post(f"/api/v1/cases/{hotline_case.pk}/advance/", {"stage": "treatment"}, format="json")
    before = Event.objects.count()
    response = client.post(
        f"/api/v1/cases/{hotline_case.pk}/advance/", {"stage": "discovery"}, format="json"
    )
    assert response.status_code == 409
    assert "only moves forward" in response.json()["detail"]
    assert Event.objects.count() == before


def test_an_unknown_stage_is_a_400(client_for, operator, hotline_case):
    response = client_for(operator).post(
        f"/api/v1/cases/{hotline_case.pk}/advance/", {"stage": "limbo"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["fields"]["stage"]


def test_a_second_open_case_through_the_api_is_a_409(client_for, operator, hotline_case):
    response = client_for(operator).post(
        "/api/v1/cases/", {"person": hotline_case.person_id}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "open_case_exists"
    assert Case.objects.count() == 1


def test_creating_a_person_and_a_case(client_for, operator, network):
    client = client_for(operator)
    response = client.post(
        "/api/v1/people/",
        {
            "name": "小林",
            "phone": "138 0000 0009",
            "home_region": "330502001001",
            "guardians": [{"name": "林妈妈", "relation": "mother", "phone": "13900000009"}],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    person = Person.objects.get()
    assert str(person.phone) == "+8613800000009"  # normalised to E.164
    assert person.guardians.get().relation == "mother"
    case = client.post("/api/v1/cases/", {"person": person.pk, "risk": "low"}, format="json")
    assert case.status_code == 201, case.json()
    assert case.json()["owning_organisation"] == network["hotline"].pk
    found = client.post("/api/v1/people/search/", {"phone": "13800000009"}, format="json")
    found = found.json()["results"]
    assert [p["id"] for p in found] == [person.pk]
    assert found[0]["open_case"] == case.json()["id"]


def test_an_unknown_region_or_bad_phone_is_a_400_and_writes_nothing(client_for, operator):
    client = client_for(operator)
    response = client.post("/api/v1/people/", {"name": "x", "home_region": "999999"}, format="json")
    assert response.status_code == 400
    assert "Unknown region code: 999999" in str(response.json()["fields"]["home_region"])
    response = client.post("/api/v1/people/", {"name": "x", "phone": "12"}, format="json")
    assert response.status_code == 400
    assert "phone" in response.json()["fields"]
    assert not Person.objects.exists()


def test_reads_inside_and_outside_the_owner_are_on_the_audit_trail(
    client_for, network, operator, counsellor_a, hotline_case
):
    from hotline import services

    client_for(operator).get(f"/api/v1/cases/{hotline_case.pk}/")
    assert Event.objects.get(type="case.read").actor == operator  # the owner's own read too
    services.grant_access(hotline_case, network["centre_a"], reason="referral", granted_by=operator)
    assert client_for(counsellor_a).get(f"/api/v1/cases/{hotline_case.pk}/").status_code == 200
    read = Event.objects.filter(type="case.read").last()
    assert read.actor == counsellor_a and read.data["cases"] == [hotline_case.pk]
    assert list(read.audience_rows.values_list("audience", flat=True)) == ["audit"]


def test_closing_through_the_api_needs_a_reason(client_for, coordinator, hotline_case):
    client = client_for(coordinator)
    response = client.post(f"/api/v1/cases/{hotline_case.pk}/close/", {}, format="json")
    assert response.status_code == 400
    response = client.post(
        f"/api/v1/cases/{hotline_case.pk}/close/", {"reason": "loop complete"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["stage"] == "closed"


def test_errors_come_in_chinese_by_default(operator, hotline_case):
    from knox.models import AuthToken
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {AuthToken.objects.create(user=operator)[1]}")
    response = client.post("/api/v1/cases/", {"person": hotline_case.person_id}, format="json")
    assert response.status_code == 409
    assert "此人已有未结个案" in response.json()["detail"]
