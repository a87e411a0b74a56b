"""The outreach API (宣教活动): record and list per organisation, denied to other roles."""

from django.utils import timezone

from prevention.models import OutreachActivity

URL = "/api/v1/prevention/activities/"


def _body(org, region, **extra):
    return {
        "kind": "class",
        "scene": "school",
        "title": "情绪管理主题班会",
        "region": region.pk,
        "organisation": org.pk,
        "held_on": timezone.localdate().isoformat(),
        "led_by": "王老师",
        "reached": 45,
        **extra,
    }


def test_a_teacher_records_and_lists_the_schools_activities(
    client_for, teacher, other_teacher, school, network
):
    api = client_for(teacher)
    r = api.post(URL, _body(school, network["village"]), format="json")
    assert r.status_code == 201, r.content
    made = OutreachActivity.objects.get(pk=r.json()["id"])
    assert (made.reached, made.district, made.recorded_by) == (45, network["wuxing"], teacher)
    assert r.json()["district"] == network["wuxing"].pk
    assert [a["id"] for a in api.get(URL).json()["results"]] == [made.pk]
    # Another school's teacher does not see it.
    assert client_for(other_teacher).get(URL).json()["results"] == []


def test_bad_input_is_a_400_beside_the_field_and_records_nothing(
    client_for, teacher, school, network
):
    api = client_for(teacher)
    for bad, field in (({"reached": 0}, "reached"), ({"title": " "}, "title")):
        r = api.post(URL, _body(school, network["village"], **bad), format="json")
        assert r.status_code == 400 and field in str(r.json())
    assert not OutreachActivity.objects.exists()


def test_denied_to_other_organisations_and_other_roles(
    client_for, teacher, school, other_school, operator, decision_maker, responder, network
):
    mine = client_for(teacher).post(URL, _body(school, network["village"]), format="json")
    assert mine.status_code == 201
    r = client_for(teacher).post(URL, _body(other_school, network["deqing"]), format="json")
    assert r.status_code == 403
    # A hotline operator works on cases, but not the school's: none of its records, no writes.
    api = client_for(operator)
    assert api.get(URL).json()["results"] == []
    assert api.post(URL, _body(school, network["village"]), format="json").status_code == 403
    # Decision makers see counts on the dashboard; responders their dispatch legs only.
    for user in (decision_maker, responder):
        api = client_for(user)
        assert api.get(URL).status_code == 403
        r = api.post(URL, _body(network["hotline"], network["city"]), format="json")
        assert r.status_code == 403
    assert list(OutreachActivity.objects.values_list("pk", flat=True)) == [mine.json()["id"]]
