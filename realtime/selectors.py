"""Reads of the event log: replay for consoles and the case timeline."""

from django.db.models import Exists, OuterRef

from realtime import audiences as aud
from realtime.models import Event, EventAudience


def events_visible_to(
    user, *, after_id: int = 0, limit: int = 500, audiences: set[str] | None = None
):
    """Events after ``after_id`` the user may see, oldest first (what a console replays).

    Administrators see every broadcast event; audit-only rows (reads) are never replayed.
    ``audiences`` is the user's audiences when the caller has just computed them (the console
    replays exactly the audiences whose groups it joined).
    """
    mine = aud.audiences_for(user) if audiences is None else audiences
    qs = Event.objects.filter(id__gt=after_id)
    if aud.EVERYONE in mine:
        live = EventAudience.objects.filter(event=OuterRef("pk")).exclude(audience=aud.AUDIT)
        qs = qs.filter(Exists(live))
    else:
        qs = qs.filter(
            Exists(EventAudience.objects.filter(event=OuterRef("pk"), audience__in=mine))
        )
    return qs.order_by("id")[:limit]


def case_timeline(case):
    return Event.objects.filter(case=case).select_related("actor").order_by("id")
