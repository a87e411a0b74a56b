"""The dashboard's only write: the audit trail of drill-downs (钻取留痕)."""

from realtime.audit import DRILL_DOWN, record_audit


def record_drill_down(user, *, kind: str, value: str, filters: dict, case_ids: list[int]) -> None:
    """Put a coordinator's drill-down from a dashboard figure to cases on the audit trail.

    Audit-only, like ``hotline.services.record_read``: kept on the log, never broadcast, and
    indexed by case so it shows in the case's read log (查阅记录).
    """
    record_audit(
        DRILL_DOWN,
        actor=user,
        data={
            "what": "dashboard.drill_down",
            "user": user.pk,
            "username": user.get_username(),
            "kind": kind,
            "value": value,
            "filters": filters,
        },
        case_ids=case_ids,
    )
