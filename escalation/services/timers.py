"""Durable deadlines (the worker fires them): the clock behind every escalation step."""

from collections.abc import Callable
from datetime import datetime

from escalation.models import Timer

# Timer kinds whose step belongs to an app above escalation (network's hook deliveries): the app
# registers its step here at start-up, so the one worker fires it without importing that app.
_HANDLERS: dict[str, Callable[[Timer, datetime], None]] = {}


def register_timer_handler(kind: str, handler: Callable[[Timer, datetime], None]) -> None:
    _HANDLERS[kind] = handler


def timer_handler(kind: str) -> Callable[[Timer, datetime], None] | None:
    return _HANDLERS.get(kind)


def schedule(kind: str, key: str, due_at: datetime, **links) -> Timer:
    """Add a durable deadline; scheduling the same key again is a no-op (idempotent steps)."""
    timer, _created = Timer.objects.get_or_create(
        key=key, defaults={"kind": kind, "due_at": due_at, **links}
    )
    return timer
