"""Reads of the event log (replay for consoles, the case timeline) and of console sessions."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef

from realtime import audiences as aud
from realtime.models import ConsoleSession, Event, EventAudience


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


def console_stale_after() -> timedelta:
    """A session not touched for this long belongs to a server process that is gone (the
    consumer touches it every heartbeat; a margin of the allowed misses covers a slow beat)."""
    return timedelta(
        seconds=settings.REALTIME_HEARTBEAT_SECONDS * (settings.REALTIME_HEARTBEAT_MISSES + 1)
    )


def console_absence(user_ids, now: datetime) -> dict[int, datetime | None]:
    """For each of these users who has had a console: ``None`` while one is open, else when the
    last one went (closed, or last touched by a process that has since died). Users who never
    opened a console (API or phone-only clients) are left out: nothing is known of them."""
    stale = now - console_stale_after()
    absence: dict[int, datetime | None] = {}
    rows = ConsoleSession.objects.filter(user_id__in=list(user_ids)).values_list(
        "user_id", "last_seen_at", "closed_at"
    )
    for user_id, last_seen_at, closed_at in rows:
        if absence.get(user_id, 0) is None:
            continue
        if closed_at is None and last_seen_at >= stale:
            absence[user_id] = None
            continue
        gone = closed_at or last_seen_at
        absence[user_id] = max(gone, absence.get(user_id) or gone)
    return absence
