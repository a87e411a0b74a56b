"""The public pages (no account) and the staff pages, with the denials per role."""

import pytest
from django.test import override_settings

from prevention.models import Participation, ScreeningResponse, ScreeningTask
from tests.conftest import sign_in
from tests.prevention.conftest import answer


def all_answers(campaign, value="0", item9="0"):
    data = {f"phq9_{n}": value for n in range(1, 10)}
    data["phq9_9"] = item9
    data.update({f"gad7_{n}": value for n in range(1, 8)})
    return data


def take_part(client, slip, data):
    assert client.post("/screening/", {"code": slip.code.lower()}).status_code == 302
    r = client.post(
        "/screening/consent/", {"decision": "agree", "minor": "yes", "guardian_agrees": "on"}
    )
    assert r.status_code == 302
    return client.post("/screening/questions/", data)


def test_a_student_answers_on_the_public_pages_and_sees_no_score(client, campaign):
    slip = campaign.participations.first()
    page = client.get("/screening/")
    assert page.status_code == 200 and "2251885" in page.content.decode()
    r = take_part(client, slip, all_answers(campaign, item9="2"))
    assert r.status_code == 302 and r["Location"] == "/screening/thanks/"
    thanks = client.get("/screening/thanks/").content.decode()
    assert "2251885" in thanks and "PHQ" not in thanks
    slip.refresh_from_db()
    assert slip.flagged and slip.consent_by == "guardian"
    # The code is spent.
    again = client.post("/screening/", {"code": slip.code})
    assert again.status_code == 400


def test_refusing_consent_keeps_nothing(client, campaign):
    slip = campaign.participations.first()
    client.post("/screening/", {"code": slip.code})
    r = client.post("/screening/consent/", {"decision": "refuse"})
    assert r.status_code == 200
    assert client.get("/screening/questions/").status_code == 302
    slip.refresh_from_db()
    assert slip.answered_at is None and slip.consented_at is None
    assert not ScreeningResponse.objects.exists()


def test_a_minor_without_the_guardians_agreement_goes_no_further(client, campaign):
    slip = campaign.participations.first()
    client.post("/screening/", {"code": slip.code})
    r = client.post("/screening/consent/", {"decision": "agree", "minor": "yes"})
    assert r.status_code == 400
    assert client.get("/screening/questions/").status_code == 302


def test_an_unanswered_item_is_named_beside_it_and_nothing_kept(client, campaign):
    slip = campaign.participations.first()
    data = all_answers(campaign)
    del data["gad7_3"]
    r = take_part(client, slip, data)
    assert r.status_code == 400
    assert 'fieldset class="item invalid"' in r.content.decode()
    assert not ScreeningResponse.objects.exists()


@override_settings(SCREENING_CODE_RATE="3/hour")
def test_guessing_codes_is_throttled(client, campaign):
    for _ in range(3):
        assert client.post("/screening/", {"code": "AAAAAAAAAA"}).status_code == 400
    assert client.post("/screening/", {"code": "AAAAAAAAAA"}).status_code == 429


def test_the_teacher_sees_flagged_students_with_deadlines_and_acknowledges(
    client, campaign, teacher
):
    slips = list(campaign.participations.order_by("pk"))
    answer(slips[0], phq9=[0] * 8 + [1])
    answer(slips[1])
    sign_in(client, teacher)
    page = client.get("/prevention/").content.decode()
    assert page.count('class="task') == 1 and 'data-reason="item9"' in page
    task = ScreeningTask.objects.get()
    r = client.post(f"/prevention/tasks/{task.pk}/acknowledge/")
    assert r.status_code == 302
    task.refresh_from_db()
    assert task.state == "acknowledged"
    slip_page = client.get(f"/prevention/campaigns/{campaign.pk}/groups/{slips[0].group_id}/slips/")
    assert slip_page.content.decode().count('class="slip"') == 3  # two used


@pytest.mark.parametrize("who", ["other_teacher", "decision_maker", "responder", "outsider"])
def test_others_do_not_see_this_schools_students(client, campaign, who, request):
    answer(campaign.participations.first(), phq9=[0] * 8 + [1])
    user = request.getfixturevalue(who)
    sign_in(client, user)
    page = client.get("/prevention/")
    if page.status_code == 200:
        assert 'class="task' not in page.content.decode()
    else:
        assert page.status_code == 403
    group = campaign.groups.first()
    assert client.get(
        f"/prevention/campaigns/{campaign.pk}/groups/{group.pk}/slips/"
    ).status_code in (403, 404)
    api = client.get("/api/v1/prevention/tasks/")
    assert api.status_code == 403 or api.json()["results"] == []
    task = ScreeningTask.objects.get()
    assert client.post(f"/api/v1/prevention/tasks/{task.pk}/acknowledge/").status_code in (403, 404)
    assert client.get(f"/api/v1/prevention/campaigns/{campaign.pk}/").status_code in (403, 404)


def test_the_counselling_centre_sees_what_is_referred_to_it_only(
    client, campaign, teacher, school, counsellor_a, network
):
    from datetime import timedelta

    from django.utils import timezone

    from prevention import services

    today = timezone.localdate()
    referred = services.create_campaign(
        teacher,
        name="转介中心",
        organisation=school,
        questionnaires=["phq9"],
        starts_on=today,
        ends_on=today + timedelta(days=1),
        follow_up_organisation=network["centre_a"],
    )
    services.add_slips(teacher, referred, group="初三(1)班", count=1)
    services.submit_answers(
        referred.participations.get().code,
        consent_by="guardian",
        consented_at=timezone.now(),
        answers={"phq9": [3] * 6 + [0] * 3},
        guardian_minor=True,
    )
    answer(campaign.participations.first(), phq9=[0] * 8 + [1])  # the school's own
    sign_in(client, counsellor_a)
    tasks = client.get("/api/v1/prevention/tasks/").json()["results"]
    assert [t["campaign"] for t in tasks] == [referred.pk]
    ok = client.post(f"/api/v1/prevention/tasks/{tasks[0]['id']}/acknowledge/")
    assert ok.status_code == 200 and ok.json()["state"] == "acknowledged"
    assert client.get("/api/v1/prevention/campaigns/").json()["results"] == []
    # The school still sees its campaign's flagged student, but the centre acts.
    client.logout()
    sign_in(client, teacher)
    assert len(client.get("/api/v1/prevention/tasks/").json()["results"]) == 2
    assert Participation.objects.filter(flagged=True).count() == 2


def test_the_api_makes_a_campaign_and_slips(client, teacher, school):
    sign_in(client, teacher)
    r = client.post(
        "/api/v1/prevention/campaigns/",
        {
            "name": "高一筛查",
            "organisation": school.pk,
            "questionnaires": ["phq9", "gad7"],
            "starts_on": "2026-01-01",
            "ends_on": "2026-12-31",
            "consent_rule": "guardian_for_minors",
            "follow_up_organisation": school.pk,
        },
        content_type="application/json",
    )
    assert r.status_code == 201, r.content
    s = client.post(
        f"/api/v1/prevention/campaigns/{r.json()['id']}/slips/",
        {"group": "高一(2)班", "count": 30},
        content_type="application/json",
    )
    assert s.status_code == 201 and len({x["code"] for x in s.json()}) == 30
    bad = client.post(
        f"/api/v1/prevention/campaigns/{r.json()['id']}/slips/",
        {"group": "高一(2)班", "count": 0},
        content_type="application/json",
    )
    assert bad.status_code == 400 and "count" in bad.json()["fields"]


def _top_bar(client) -> str:
    page = client.get("/prevention/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    return page.split('<nav class="mainnav">', 1)[1].split("</nav>", 1)[0]


def test_a_school_psychology_teacher_sees_prevention_not_the_counselling_inbox(client, teacher):
    sign_in(client, teacher)
    bar = _top_bar(client)
    assert 'href="/prevention/"' in bar and "防范" in bar
    assert "/care/counselling/" not in bar and "咨询转介收件箱" not in bar


def test_a_centre_counsellor_keeps_the_counselling_inbox(client, counsellor_a):
    sign_in(client, counsellor_a)
    bar = _top_bar(client)
    assert "/care/counselling/" in bar and 'href="/prevention/"' in bar
