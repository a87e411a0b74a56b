"""Every read of personal data is audited (查阅留痕): one audit event per request naming the
cases shown, inside the owning organisation or not; the owner's coordinators see who read a case."""

import pytest
from django.test import Client

from realtime.audit import reads_of_case
from realtime.models import Event, EventCase
from tests.conftest import sign_in
from tests.referrals.conftest import refer


def signed_in(user):
    return sign_in(Client(HTTP_ACCEPT_LANGUAGE="zh-hans"), user)


def only_new_read(before: int) -> Event:
    """Exactly one audit event was written by the request; it is returned."""
    new = list(Event.objects.filter(id__gt=before, type="case.read"))
    assert len(new) == 1, [e.data for e in new]
    assert list(new[0].audience_rows.values_list("audience", flat=True)) == ["audit"]
    return new[0]


def last_id() -> int:
    return Event.objects.order_by("-id").values_list("id", flat=True).first() or 0


API_READS = [
    "/api/v1/people/",
    "/api/v1/people/{person}/",
    "/api/v1/cases/",
    "/api/v1/cases/?open=1",
    "/api/v1/cases/{case}/",
    "/api/v1/cases/{case}/timeline/",
    "/api/v1/referrals/",
    "/api/v1/referrals/{referral}/",
]


@pytest.mark.parametrize("path", API_READS)
@pytest.mark.parametrize("who", ["operator", "counsellor_a"])
def test_each_api_read_writes_exactly_one_audit_event_naming_the_case(
    request, client_for, path, who, hotline_case
):
    """The owner's operator and the referred centre's counsellor alike."""
    referral = refer(request.getfixturevalue("operator"), hotline_case)
    user = request.getfixturevalue(who)
    before = last_id()
    url = path.format(person=hotline_case.person_id, case=hotline_case.pk, referral=referral.pk)
    response = client_for(user).get(url)
    assert response.status_code == 200, response.content
    read = only_new_read(before)
    assert read.actor == user
    assert read.data["cases"] == [hotline_case.pk]
    assert read.data["organisations"]
    assert read.case_id is None  # reads never crowd the case's timeline
    assert EventCase.objects.filter(event=read, case=hotline_case).exists()


def test_a_search_by_phone_in_the_body_is_one_read_naming_the_persons_case(
    client_for, operator, hotline_case
):
    before = last_id()
    response = client_for(operator).post(
        "/api/v1/people/search/", {"phone": str(hotline_case.person.phone)}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["count"] == 1
    read = only_new_read(before)
    assert read.data["cases"] == [hotline_case.pk]
    assert read.data["people"] == [hotline_case.person_id]


def test_a_list_read_is_one_event_naming_every_case_shown(client_for, operator, network):
    from hotline import services

    cases = []
    for i in range(3):
        person = services.create_person(operator, name=f"人{i}", phone=f"+861380000010{i}")
        cases.append(
            services.open_case(operator, person=person, owning_organisation=network["hotline"])
        )
    before = last_id()
    assert client_for(operator).get("/api/v1/cases/?limit=2").status_code == 200
    read = only_new_read(before)
    assert read.data["cases"] == sorted(c.pk for c in cases[1:])  # the page shown, newest first
    assert read.data["what"] == "case.list"


def test_a_write_and_an_empty_list_write_no_read_event(
    client_for, operator, outsider, hotline_case
):
    before = last_id()
    client_for(outsider).get("/api/v1/cases/")
    client_for(operator).post(
        f"/api/v1/cases/{hotline_case.pk}/risk/", {"risk": "high", "reason": "x"}, format="json"
    )
    assert not Event.objects.filter(id__gt=before, type="case.read").exists()


@pytest.mark.parametrize("path", ["/care/cases/{case}/", "/care/counselling/"])
def test_each_care_page_read_is_one_audit_event(path, counsellor_a, operator, hotline_case):
    refer(operator, hotline_case)
    before = last_id()
    response = signed_in(counsellor_a).get(path.format(case=hotline_case.pk))
    assert response.status_code == 200
    assert only_new_read(before).data["cases"] == [hotline_case.pk]


def test_the_coordinator_sees_who_read_the_case_in_chinese(
    coordinator, operator, counsellor_a, client_for, hotline_case, network
):
    refer(operator, hotline_case)
    client_for(counsellor_a).get(f"/api/v1/cases/{hotline_case.pk}/")
    page = signed_in(coordinator).get(f"/care/cases/{hotline_case.pk}/").content.decode()
    assert "查阅记录" in page
    panel = page[page.index('id="case-reads"') :]
    assert "counsellor_a" in panel and "case.retrieve" in panel
    assert network["centre_a"].name in panel  # from which organisation


def test_an_operator_and_the_referred_counsellor_do_not_see_the_read_log(
    operator, counsellor_a, hotline_case
):
    refer(operator, hotline_case)
    for user in (operator, counsellor_a):
        page = signed_in(user).get(f"/care/cases/{hotline_case.pk}/").content.decode()
        assert "查阅记录" not in page and 'id="case-reads"' not in page


def test_django_admin_change_and_list_pages_are_audited(administrator, hotline_case):
    client = signed_in(administrator)
    for path in (
        f"/admin/hotline/person/{hotline_case.person_id}/change/",
        "/admin/hotline/person/",
        f"/admin/hotline/case/{hotline_case.pk}/change/",
        "/admin/hotline/case/",
    ):
        before = last_id()
        assert client.get(path).status_code == 200, path
        read = only_new_read(before)
        assert read.data["cases"] == [hotline_case.pk], path
        assert read.data["what"].startswith("admin."), path
    assert len(reads_of_case(hotline_case.pk)) == 4


def test_a_dashboard_drill_down_shows_in_the_read_log(coordinator, hotline_case):
    from dashboard.services import record_drill_down

    record_drill_down(
        coordinator, kind="risk", value="moderate", filters={}, case_ids=[hotline_case.pk]
    )
    assert [e.type for e in reads_of_case(hotline_case.pk)] == ["dashboard.drill_down"]
