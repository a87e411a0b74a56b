"""The prevention stage (防范) on the one-screen view: screening campaigns and outreach, counts
only. A campaign counts when its period meets the dashboard's dates; an activity when it was
held in them. The district is that of the campaign's organisation, and of the activity's place."""

from datetime import datetime

from django.db.models import Count, Sum
from django.utils.translation import gettext as _

from dashboard.selectors.common import Filters, Table, district_of, districts
from prevention.models import Campaign, OutreachActivity
from prevention.selectors import campaign_figures

CAMPAIGN_COUNTS = ("invited", "answered", "flagged", "followed_up_in_time")


def _campaigns(f: Filters):
    qs = Campaign.objects.filter(starts_on__lte=f.date_to, ends_on__gte=f.date_from)
    if f.district:
        qs = qs.filter(organisation__region__path__startswith=f.district.path)
    if f.organisation:
        qs = qs.filter(organisation=f.organisation)
    return qs.select_related("organisation__region").order_by("-starts_on", "pk")


def _activities(f: Filters):
    qs = OutreachActivity.objects.filter(held_on__gte=f.date_from, held_on__lte=f.date_to)
    if f.district:
        qs = qs.filter(region__path__startswith=f.district.path)
    if f.organisation:
        qs = qs.filter(organisation=f.organisation)
    return qs


def _note() -> str:
    return _("The risk filter does not apply: screening and outreach are counted, not cases.")


def screening_campaigns(f: Filters, now: datetime) -> Table:
    """Each campaign: slips given out (invited), answered, flagged to discovery, and flagged
    students followed up (acknowledged) by their deadline."""
    rows = [
        {
            "campaign": row["name"],
            "organisation": row["organisation"],
            "district": row["district"],
            **{k: row[k] for k in CAMPAIGN_COUNTS},
        }
        for row in campaign_figures(list(_campaigns(f)))
    ]
    return Table(
        "screening_campaigns",
        _("Screening campaigns"),
        [
            ("campaign", _("Screening campaign")),
            ("organisation", _("Organisation")),
            ("district", _("District/county")),
            ("invited", _("Invited")),
            ("answered", _("Answered")),
            ("flagged", _("Flagged")),
            ("followed_up_in_time", _("Followed up within the deadline")),
        ],
        rows,
        note=_note(),
    )


def prevention_by_district(f: Filters, now: datetime) -> Table:
    """Per district/county: the campaigns' counts added up, and the outreach activities (talks,
    classes, community sessions) with the people they reached."""
    campaigns = list(_campaigns(f))
    totals: dict[str, dict] = {}
    for campaign, row in zip(campaigns, campaign_figures(campaigns), strict=True):
        into = totals.setdefault(district_of(campaign.organisation.region.path), {})
        into["campaigns"] = into.get("campaigns", 0) + 1
        for k in CAMPAIGN_COUNTS:
            into[k] = into.get(k, 0) + row[k]
    for path, n, reached in (
        _activities(f)
        .values_list("district__path")
        .annotate(n=Count("pk"), reached=Sum("reached"))
        .order_by()
    ):
        into = totals.setdefault(district_of(path), {})
        into["activities"] = into.get("activities", 0) + n
        into["reached"] = into.get("reached", 0) + (reached or 0)
    keys = ("campaigns", *CAMPAIGN_COUNTS, "activities", "reached")
    places = [
        (path, name, path.split("/")[1]) for path, name in districts().values_list("path", "name")
    ]
    if f.district:
        places = [p for p in places if p[0] == f.district.path]
    if "" in totals:
        places.append(("", _("Unknown or outside the districts"), ""))
    rows = [
        {"district": name, "code": code, **{k: totals.get(path, {}).get(k, 0) for k in keys}}
        for path, name, code in places
    ]
    return Table(
        "prevention_by_district",
        _("Prevention by district/county"),
        [
            ("district", _("District/county")),
            ("campaigns", _("Campaigns")),
            ("invited", _("Invited")),
            ("answered", _("Answered")),
            ("flagged", _("Flagged")),
            ("followed_up_in_time", _("Followed up within the deadline")),
            ("activities", _("Outreach activities")),
            ("reached", _("People reached")),
        ],
        rows,
        note=_note(),
    )
