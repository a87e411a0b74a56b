"""Who sees what of the prevention stage, and its counts.

A school's (or the centre's) case workers run its campaigns and see its campaigns' flagged
students only; the follow-up organisation sees the tasks referred to it. Nobody sees the
answers of a student who was not flagged; the figures are counts.
"""

from django.db.models import Count, F, Q
from django.utils.translation import gettext as _

from directory.access import is_administrator, organisation_ids
from directory.models import Region, RegionLevel
from hotline.caseplan import CLAIM_FOLLOW_UP, OpenItem
from hotline.models import ResponsibleRole
from hotline.selectors import CASE_ROLES
from prevention.models import (
    Campaign,
    FlagReason,
    OutreachActivity,
    Participation,
    ScreeningTask,
    TaskState,
)


def campaign_staff_org_ids(user) -> set[int]:
    """Organisations whose screening the user runs: a case role there (a school's psychology
    teacher is its counsellor)."""
    return organisation_ids(user, CASE_ROLES)


def task_worker_org_ids(user) -> set[int]:
    return organisation_ids(user, CASE_ROLES)


def visible_campaigns(user):
    if is_administrator(user):
        return Campaign.objects.all()
    return Campaign.objects.filter(organisation__in=campaign_staff_org_ids(user))


def visible_tasks(user):
    """Flagged students: the tasks of the user's organisation, and those of its own campaigns."""
    qs = ScreeningTask.objects.select_related(
        "participation__campaign", "participation__group", "case__person", "organisation"
    )
    if is_administrator(user):
        return qs
    orgs = task_worker_org_ids(user)
    if not orgs:
        return qs.none()
    return qs.filter(Q(organisation__in=orgs) | Q(participation__campaign__organisation__in=orgs))


def can_act_on_task(user, task: ScreeningTask) -> bool:
    return is_administrator(user) or task.organisation_id in task_worker_org_ids(user)


def visible_activities(user):
    if is_administrator(user):
        return OutreachActivity.objects.all()
    return OutreachActivity.objects.filter(organisation__in=campaign_staff_org_ids(user))


def campaign_figures(campaigns) -> list[dict]:
    """Invited, answered, flagged, followed up within the deadline: counts per campaign."""
    counts = {
        row["campaign"]: row
        for row in Participation.objects.filter(campaign__in=campaigns)
        .values("campaign")
        .annotate(
            invited=Count("pk"),
            answered=Count("pk", filter=Q(answered_at__isnull=False)),
            flagged=Count("pk", filter=Q(flagged=True)),
            watched=Count("pk", filter=Q(watched=True)),
        )
        .order_by()
    }
    in_time = dict(
        ScreeningTask.objects.filter(
            participation__campaign__in=campaigns,
            participation__flagged=True,
            acknowledged_at__isnull=False,
            acknowledged_at__lte=F("due_at"),
        )
        .values_list("participation__campaign")
        .annotate(n=Count("pk"))
        .order_by()
    )
    # The districts' names in one query: a campaign's district is a prefix of its region's path.
    paths = {p for c in campaigns for p in _prefixes(c.organisation.region.path)}
    districts = dict(
        Region.objects.filter(path__in=paths, level=RegionLevel.DISTRICT).values_list(
            "path", "name"
        )
    )
    rows = []
    for c in campaigns:
        row = counts.get(c.pk, {})
        region = c.organisation.region
        district = next(
            (districts[p] for p in _prefixes(region.path) if p in districts), region.name
        )
        rows.append(
            {
                "campaign": c.pk,
                "name": c.name,
                "organisation": c.organisation.name,
                "district": district,
                "invited": row.get("invited", 0),
                "answered": row.get("answered", 0),
                "flagged": row.get("flagged", 0),
                "watched": row.get("watched", 0),
                "followed_up_in_time": in_time.get(c.pk, 0),
            }
        )
    return rows


def _prefixes(path: str) -> list[str]:
    """ "330500/330502/330502001/" -> "330500/", "330500/330502/", "330500/330502/330502001/"."""
    parts = [p for p in path.split("/") if p]
    return ["".join(f"{p}/" for p in parts[: i + 1]) for i in range(len(parts))]


def case_items(case) -> list[OpenItem]:
    """A flagged student's screening task is the case's work until it is done, due at its
    deadline; the follow-up organisation (the school's psychology teacher or the counselling
    centre) answers for the case meanwhile."""
    tasks = ScreeningTask.objects.filter(
        case=case, state__in=[TaskState.OPEN, TaskState.ACKNOWLEDGED]
    ).select_related("participation__campaign")
    return [
        OpenItem(
            key=f"screening:{task.pk}",
            kind="screening",
            text=_("Follow up the screening flag (%(reason)s, %(campaign)s)")
            % {
                "reason": FlagReason(task.reason).label,
                "campaign": task.participation.campaign.name,
            },
            due=task.due_at,
            claim=CLAIM_FOLLOW_UP,
            role=ResponsibleRole.FOLLOW_UP_ASSIGNEE,
            organisation_id=task.organisation_id,
            user_id=task.assignee_id or task.acknowledged_by_id,
        )
        for task in tasks
    ]
