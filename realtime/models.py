"""The event log (outbox): one append-only row per thing that happened.

It is both the case timeline (全程留痕) and what consoles replay after a reconnect.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone


class Event(models.Model):
    id = models.BigAutoField(primary_key=True)
    type = models.CharField(max_length=64, db_index=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    case = models.ForeignKey(
        "hotline.Case", null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["case", "id"])]

    def __str__(self) -> str:
        return f"{self.id} {self.type}"

    def save(self, *args, force_insert=False, **kwargs):
        # Only ever inserted (publish, Event.objects.create): a save that could update is refused.
        if not force_insert:
            raise ValueError("Events are append-only; an event cannot be changed.")
        super().save(*args, force_insert=force_insert, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Events are append-only; an event cannot be deleted.")

    def as_message(self) -> dict:
        """The wire form every console receives: ``{"id", "type", "at", "case", "data"}``."""
        return {
            "id": self.id,
            "type": self.type,
            "at": self.at.isoformat(),
            "case": self.case_id,
            "data": self.data,
        }


class EventAudience(models.Model):
    """Who may see an event: ``user:<id>``, ``org:<id>``, ``orgrole:<org>:<role>``, ``audit``.

    A table rather than a JSON list so that replay is one indexed lookup on both databases.
    """

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="audience_rows")
    audience = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["audience", "event"], name="unique_event_audience")
        ]

    def __str__(self) -> str:
        return f"{self.event_id} -> {self.audience}"


class ConsoleSession(models.Model):
    """One open console socket, so the apps above can tell whether a person is still at a screen.

    Written by the consumer only: created on connect, ``last_seen_at`` moved on every heartbeat,
    ``closed_at`` set on disconnect. A server process that dies closes nothing; its rows are known
    by a ``last_seen_at`` that stopped moving (``realtime.selectors.console_absence``).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="console_sessions"
    )
    channel_name = models.CharField(max_length=200, unique=True)
    connected_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "closed_at"])]

    def __str__(self) -> str:
        return f"{self.user_id} {self.channel_name}"


class EventCase(models.Model):
    """The cases an audit event names (a list read names many), so "who read this case"
    (查阅记录) is one indexed lookup on both databases. Written with the event, never changed."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="case_rows")
    case = models.ForeignKey("hotline.Case", on_delete=models.CASCADE, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["case", "event"])]

    def __str__(self) -> str:
        return f"{self.event_id} -> case {self.case_id}"
