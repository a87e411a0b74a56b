"""The prevention stage on the one-screen view: campaign and outreach counts equal the rows."""

from datetime import timedelta

import pytest
from django.db.models import Sum
from django.utils import timezone

from dashboard import selectors
from prevention import services
from prevention.models import OutreachActivity, Participation, ScreeningTask
from tests.conftest import sign_in
from tests.prevention.conftest import answer

COUNTS = ("invited", "answered", "flagged", "followed_up_in_time")


@pytest.fixture
def screened(campaign, teacher, other_teacher, other_school, network):
    """Wuxing: 5 slips, 3 answered, 2 flagged, one followed up in time (the item-9 one), one
    after its deadline. Deqing: a campaign of 4 slips, none answered. Outreach in both."""
    slips = list(campaign.participations.order_by("pk"))
    answer(slips[0], phq9=[0] * 8 + [1])  # item 9
    answer(slips[1], phq9=[2] * 7 + [1, 0])  # PHQ-9 15
    answer(slips[2])  # nothing
    item9, late = ScreeningTask.objects.order_by("pk")
    services.acknowledge_task(teacher, item9)
    ScreeningTask.objects.filter(pk=late.pk).update(due_at=timezone.now() - timedelta(hours=1))
    services.acknowledge_task(teacher, late)
    today = timezone.localdate()
    other = services.create_campaign(
        other_teacher,
        name="高一筛查",
        organisation=other_school,
        questionnaires=["phq9"],
        starts_on=today,
        ends_on=today + timedelta(days=3),
        follow_up_organisation=other_school,
    )
    services.add_slips(other_teacher, other, group="高一(1)班", count=4)
    for actor, org, region, reached in (
        (teacher, campaign.organisation, network["village"], 40),
        (teacher, campaign.organisation, network["village"], 12),
        (other_teacher, other_school, network["deqing"], 25),
    ):
        services.record_activity(
            actor,
            kind="talk",
            scene="school",
            title="心理健康讲座",
            region=region,
            organisation=org,
            held_on=today,
            led_by="王老师",
            reached=reached,
        )
    return campaign, other


def _expected(campaign) -> dict:
    slips = Participation.objects.filter(campaign=campaign)
    in_time = [
        t
        for t in ScreeningTask.objects.filter(participation__campaign=campaign)
        if t.acknowledged_at and t.acknowledged_at <= t.due_at
    ]
    return {
        "invited": slips.count(),
        "answered": slips.filter(answered_at__isnull=False).count(),
        "flagged": slips.filter(flagged=True).count(),
        "followed_up_in_time": len(in_time),
    }


def test_campaign_and_district_figures_equal_the_database(screened, network):
    campaign, other = screened
    tables = selectors.dashboard(selectors.parse_filters({}))
    by_name = {r["campaign"]: r for r in tables["screening_campaigns"].rows}
    for c in (campaign, other):
        assert {k: by_name[c.name][k] for k in COUNTS} == _expected(c)
    assert {k: by_name[campaign.name][k] for k in COUNTS} == {
        "invited": 5,
        "answered": 3,
        "flagged": 2,
        "followed_up_in_time": 1,
    }
    assert by_name[campaign.name]["district"] == "吴兴区"
    assert by_name[other.name]["district"] == "德清县"

    districts = {r["code"]: r for r in tables["prevention_by_district"].rows}
    for code, c in (("330502", campaign), ("330521", other)):
        row = districts[code]
        assert row["campaigns"] == 1
        assert {k: row[k] for k in COUNTS} == _expected(c)
        acts = OutreachActivity.objects.filter(district__code=code)
        assert row["activities"] == acts.count()
        assert row["reached"] == acts.aggregate(n=Sum("reached"))["n"]
    assert (districts["330502"]["activities"], districts["330502"]["reached"]) == (2, 52)

    # The district filter keeps that district's campaigns and activities only.
    deqing = selectors.dashboard(selectors.parse_filters({"district": "330521"}))
    assert [r["campaign"] for r in deqing["screening_campaigns"].rows] == [other.name]
    assert [r["code"] for r in deqing["prevention_by_district"].rows] == ["330521"]


def test_campaigns_outside_the_period_are_not_counted(screened):
    long_ago = timezone.localdate() - timedelta(days=400)
    tables = selectors.dashboard(
        selectors.parse_filters({"from": long_ago.isoformat(), "to": long_ago.isoformat()})
    )
    assert tables["screening_campaigns"].rows == []
    assert all(
        r["campaigns"] == r["activities"] == 0 for r in tables["prevention_by_district"].rows
    )


def test_the_page_data_and_exports_carry_the_figures_counts_only(client, screened, decision_maker):
    campaign, _other = screened
    sign_in(client, decision_maker)
    data = client.get("/dashboard/data.json").json()["tables"]
    row = next(r for r in data["screening_campaigns"]["rows"] if r["campaign"] == campaign.name)
    assert {k: row[k] for k in COUNTS} == _expected(campaign)
    page = client.get("/dashboard/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "心理筛查活动" in page and "各区县防范工作" in page
    # Counts only: no slip's code or a flagged student's case reaches a decision maker.
    for slip in Participation.objects.filter(campaign=campaign):
        assert slip.code not in page
    csv = client.get("/dashboard/export/prevention_by_district.csv")
    assert csv.status_code == 200 and "吴兴区" in csv.content.decode("utf-8-sig")
