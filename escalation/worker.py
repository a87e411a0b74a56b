"""The timer worker: fires due ``Timer`` rows exactly once, polls alert sources, beats.

Claiming: each batch runs in one transaction that locks due rows with
``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several workers share the work without
waiting on each other. SQLite has no row locks; there every transaction is BEGIN IMMEDIATE
(config.settings), so workers serialise on the database write lock instead. A timer is marked
fired in the same transaction as its step's effects: a worker killed mid-step rolls back both,
and the next worker fires the step once.
"""

import asyncio
import logging
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, transaction
from django.db.models import F
from django.utils import timezone

from escalation import services
from escalation.models import Timer, WorkerHeartbeat
from escalation.sources import housekeeping, poll_sources

log = logging.getLogger(__name__)

RETRY_FAILED_AFTER = 10


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def _fire(timer: Timer, now: datetime) -> None:
    if settings.ESCALATION_WORKER_STEP_DELAY:
        # Fault injection only (tests/faults): widen the window in which a kill lands mid-step.
        time.sleep(settings.ESCALATION_WORKER_STEP_DELAY)
    if timer.kind == Timer.Kind.ALERT_STEP:
        services.fire_alert_step(timer.alert_id, timer.round, timer.step, now)
    elif timer.kind == Timer.Kind.LEG_DEADLINE:
        services.leg_deadline_passed(timer.leg_id, now)
    elif timer.kind == Timer.Kind.SEND:
        services.deliver(timer.message_id)
    elif timer.kind == Timer.Kind.ASSIGNMENT_DUE:
        services.assignment_due(timer.alert_id, now)
    elif (handler := services.timer_handler(timer.kind)) is not None:
        handler(timer, now)
    # PROBE timers (benchmarks) have no effect beyond being fired.


def run_due(*, now: datetime | None = None, limit: int | None = None, name: str = "") -> int:
    """Fire up to ``limit`` due timers in one transaction; returns how many fired."""
    limit = limit or settings.ESCALATION_WORKER_BATCH
    name = name or worker_name()
    with transaction.atomic():
        now = now or timezone.now()
        timers = list(
            Timer.objects.select_for_update(skip_locked=True)
            .filter(fired_at__isnull=True, due_at__lte=now)
            .order_by("due_at", "id")[:limit]
        )
        for timer in timers:
            try:
                # A savepoint per timer: one failing step does not hold back the others.
                with transaction.atomic():
                    _fire(timer, now)
            except Exception:
                # Never drop a life-safety deadline on a bug: retry it a little later.
                log.exception("timer %s failed; retrying in %s s", timer.key, RETRY_FAILED_AFTER)
                Timer.objects.filter(pk=timer.pk).update(
                    due_at=now + timedelta(seconds=RETRY_FAILED_AFTER)
                )
                continue
            Timer.objects.filter(pk=timer.pk).update(
                fired_at=timezone.now(), fired_by=name[:80], fire_count=F("fire_count") + 1
            )
    return len(timers)


def run_until_idle(*, now: datetime | None = None, rounds: int = 50) -> int:
    """Fire everything due (tests and the in-process worker); a step may schedule more."""
    total = 0
    for _ in range(rounds):
        fired = run_due(now=now)
        total += fired
        if not fired:
            break
    return total


def beat(name: str, started_at: datetime, fired: int) -> None:
    WorkerHeartbeat.objects.update_or_create(
        worker=name[:120],
        defaults={"beat_at": timezone.now(), "started_at": started_at, "fired": fired},
    )


def heartbeat_problem() -> str | None:
    """Readiness: the newest heartbeat must be recent. Before any worker has beaten, a process
    gets a grace period from its own start (the in-process worker of ``serve`` starts at once)."""
    stale_after = settings.ESCALATION_HEARTBEAT_STALE
    latest = WorkerHeartbeat.objects.order_by("-beat_at").first()
    now = timezone.now()
    if latest is None:
        if (now - _process_started).total_seconds() < stale_after:
            return None
        return "no escalation worker has ever run: timers and escalations are not firing"
    age = (now - latest.beat_at).total_seconds()
    if age > stale_after:
        return f"escalation worker heartbeat is stale ({int(age)} s old): timers are not firing"
    return None


_process_started = timezone.now()


def loop(*, stop: threading.Event | None = None, max_seconds: float | None = None) -> None:
    """Poll until stopped: fire due timers, poll alert sources, write the heartbeat."""
    stop = stop or threading.Event()
    name = worker_name()
    started_at = timezone.now()
    deadline = time.monotonic() + max_seconds if max_seconds else None
    poll_every = settings.ESCALATION_WORKER_POLL
    sources_every = settings.ESCALATION_SOURCES_POLL
    next_sources = next_beat = next_housekeeping = 0.0
    fired_total = 0
    log.info("escalation worker %s started", name)
    while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
        try:
            close_old_connections()
            fired = run_due(name=name)
            fired_total += fired
            clock = time.monotonic()
            if clock >= next_housekeeping:
                housekeeping(timezone.now())
                next_housekeeping = clock + 1.0
            if clock >= next_sources:
                poll_sources(timezone.now())
                next_sources = clock + sources_every
            if clock >= next_beat:
                beat(name, started_at, fired_total)
                next_beat = clock + min(5.0, settings.ESCALATION_HEARTBEAT_STALE / 3)
        except Exception:
            log.exception("escalation worker iteration failed; retrying")
            fired = 0
            stop.wait(1.0)
        if not fired:
            stop.wait(poll_every)
    close_old_connections()


def start_in_process(event_loop: asyncio.AbstractEventLoop, stop: threading.Event) -> asyncio.Task:
    """Run the worker beside the server on ``event_loop`` (the embedded default's ``serve``).

    The worker's thread is a ``sync_to_async`` thread of the server's loop, so what it publishes
    is sent on that loop (asgiref's ``async_to_sync`` finds it), where the in-memory channel
    layer's queues live. The task ends once ``stop`` is set and the current step is done.
    """
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="escalation-worker")
    run = sync_to_async(loop, thread_sensitive=False, executor=executor)
    return event_loop.create_task(run(stop=stop))
