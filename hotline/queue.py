"""Queue order (排队规则).

Each waiting call has a base ``priority``:

- +200 ``callback``: a call-back of an abandoned call from a high/imminent-risk person;
- +150 ``not_safe_now``: a web-chat visitor who said they are not safe (or not sure) right now;
- +100 ``known_high_risk``: the number belongs to a person whose open case is high or imminent;
- +50  ``transfer_110``: transferred by the police command.

Waiting raises priority: ``effective = priority + waiting_seconds / HOTLINE_QUEUE_AGING_SECONDS``
(default 30: one point per half minute waited). Because every waiting call ages at the same
rate, ordering by ``effective`` (highest first) is the same as ordering by the virtual arrival time
``rank_at = queued_at - priority x aging`` (earliest first), which is stored and indexed, so the
queue is one ordered index scan and never needs re-scoring.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

PRIORITY_CALLBACK = 200
PRIORITY_NOT_SAFE_NOW = 150
PRIORITY_KNOWN_HIGH_RISK = 100
PRIORITY_TRANSFER_110 = 50


def rank_at(queued_at: datetime, priority: int) -> datetime:
    return queued_at - timedelta(seconds=priority * settings.HOTLINE_QUEUE_AGING_SECONDS)


def effective_priority(call, now: datetime | None = None) -> float:
    waited = ((now or timezone.now()) - call.queued_at).total_seconds()
    return round(call.priority + max(waited, 0) / settings.HOTLINE_QUEUE_AGING_SECONDS, 2)
