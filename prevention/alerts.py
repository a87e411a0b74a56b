"""Screening tasks past their deadline and not taken in hand alert the follow-up organisation
through the escalation engine (polled by the worker like the referrals' deadlines)."""

from datetime import datetime

from django.utils.translation import gettext as _

from directory.models import Role
from escalation.models import Severity
from escalation.services import AlertSpec
from prevention.models import FlagReason, ScreeningTask, TaskState

OVERDUE_KIND = "screening_task_overdue"
BATCH = 500


def overdue_tasks(now: datetime):
    tasks = ScreeningTask.objects.filter(state=TaskState.OPEN, due_at__lte=now).select_related(
        "organisation", "case", "assignee"
    )
    for task in tasks[:BATCH]:
        yield AlertSpec(
            dedup_key=f"screening:{task.pk}:due",
            kind=OVERDUE_KIND,
            title=_("Screening follow-up of case #%(case)s not taken in hand by its deadline")
            % {"case": task.case_id},
            severity=Severity.CRITICAL if task.reason == FlagReason.ITEM9 else Severity.WARNING,
            target_user=task.assignee,
            target_organisation=None if task.assignee_id else task.organisation,
            target_role="" if task.assignee_id else Role.COUNSELLOR,
            case=task.case,
            data={"task": task.pk, "due_at": task.due_at.isoformat()},
        )


def task_taken(alert) -> bool:
    return not ScreeningTask.objects.filter(
        pk=alert.data.get("task"), state=TaskState.OPEN
    ).exists()
