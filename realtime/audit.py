"""The read audit trail (查阅留痕): one audit-only event per read, naming every case shown."""

from collections.abc import Iterable

from realtime import audiences as aud
from realtime.models import Event, EventCase
from realtime.publish import publish

READ = "case.read"
DRILL_DOWN = "dashboard.drill_down"


def record_audit(type: str, *, actor, data: dict, case_ids: Iterable[int]) -> Event:
    """Append an audit-only event (kept on the log, never broadcast or replayed) and index the
    cases it names. Not tied to one case, so reads never crowd a case's timeline."""
    ids = sorted({int(i) for i in case_ids if i is not None})
    event = publish(
        type,
        actor=actor,
        data={**data, "cases": ids},
        audiences=[aud.AUDIT],
        include_case_audiences=False,
        broadcast=False,
    )
    EventCase.objects.bulk_create([EventCase(event=event, case_id=i) for i in ids])
    return event


def reads_of_case(case_id: int, limit: int = 100):
    """Who read a case, newest first."""
    return (
        Event.objects.filter(type__in=[READ, DRILL_DOWN], case_rows__case_id=case_id)
        .select_related("actor")
        .order_by("-id")[:limit]
    )
