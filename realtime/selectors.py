"""Reads of the event log (replay for consoles, the case timeline) and of console sessions."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Q

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
    qs = Event.objects.filter(id__gt=after_id).filter(_visible(mine))
    return qs.order_by("id")[:limit]


def _visible(mine: set[str]) -> Exists:
    """Whether an event is for one of these audiences (administrators: any broadcast one)."""
    if aud.EVERYONE in mine:
        return Exists(
            EventAudience.objects.filter(event=OuterRef("pk")).exclude(audience=aud.AUDIT)
        )
    return Exists(EventAudience.objects.filter(event=OuterRef("pk"), audience__in=mine))


def scan_events(
    user, *, after_id: int, also_ids=(), limit: int, audiences: set[str]
) -> tuple[list[int], list[dict]]:
    """A live console's look at the table: every committed id above ``after_id`` (and those of
    ``also_ids``, gaps it is still waiting for), oldest first, and the messages of the ones the
    user may see.

    The ids of all events, not only the visible ones, so that the console can tell an id that
    is not committed yet (a gap to come back to) from one that is someone else's. One statement,
    so both come from the same snapshot.
    """
    rows = list(
        Event.objects.filter(Q(id__gt=after_id) | Q(id__in=list(also_ids)))
        .annotate(visible=_visible(audiences))
        .order_by("id")
        .values_list("id", "visible")[:limit]
    )
    shown = [event_id for event_id, visible in rows if visible]
    events = Event.objects.filter(id__in=shown).order_by("id") if shown else []
    return [event_id for event_id, _ in rows], [e.as_message() for e in events]


def missing_ids(lowest: int, highest: int) -> list[int]:
    """Ids in ``(lowest, highest]`` with no event: transactions that have not committed yet, or
    rolled back."""
    lowest = max(lowest, 0)  # ids start at 1
    if highest <= lowest:
        return []
    present = set(Event.objects.filter(id__gt=lowest, id__lte=highest).values_list("id", flat=True))
    return [i for i in range(lowest + 1, highest + 1) if i not in present]


def case_timeline(case, user=None):
    """A case's events, oldest first; for ``user``, only those addressed to one of their
    audiences (the rule of the live feed: a hospital never reads the hotline's triage events,
    audit-only reads are in the read log)."""
    qs = Event.objects.filter(case=case).select_related("actor").order_by("id")
    if user is not None:
        qs = qs.filter(_visible(aud.audiences_for(user)))
    return qs


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
