"""The dashboard's only write: the audit trail of drill-downs (钻取留痕)."""

from realtime import audiences as aud
from realtime.publish import publish


def record_drill_down(user, *, kind: str, value: str, filters: dict, case_ids: list[int]) -> None:
    """Put a coordinator's drill-down from a dashboard figure to cases on the audit trail.

    Audit-only, like ``hotline.services.record_case_read``: kept on the log, never broadcast.
    """
    publish(
        "dashboard.drill_down",
        actor=user,
        data={
            "user": user.pk,
            "username": user.get_username(),
            "kind": kind,
            "value": value,
            "filters": filters,
            "cases": case_ids,
        },
        audiences=[aud.AUDIT],
        include_case_audiences=False,
        broadcast=False,
    )
