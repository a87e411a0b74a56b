"""Durable deadlines (the worker fires them): the clock behind every escalation step."""

from datetime import datetime

from escalation.models import Timer


def schedule(kind: str, key: str, due_at: datetime, **links) -> Timer:
    """Add a durable deadline; scheduling the same key again is a no-op (idempotent steps)."""
    timer, _created = Timer.objects.get_or_create(
        key=key, defaults={"kind": kind, "due_at": due_at, **links}
    )
    return timer
