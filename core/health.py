"""Liveness and readiness. Apps add their checks with ``register_readiness_check`` in ready();
the root URLconf serves ``healthz`` and ``readyz`` from here."""

import asyncio
import threading
import time
import uuid
from collections.abc import Callable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.http import JsonResponse

_checks: dict[str, Callable[[], str | None]] = {}
# Checks that do not touch the database run beside it, in a thread of their own.
_off_database: set[str] = set()


def register_readiness_check(
    name: str, fn: Callable[[], str | None], *, uses_database: bool = True
) -> None:
    """``fn`` returns None when healthy, or a short reason when not. A check that uses the
    database runs in the request's thread (so it sees what the request's connection sees)
    after the ``database`` check, and is skipped, saying why, when that failed."""
    _checks[name] = fn
    if not uses_database:
        _off_database.add(name)


async def healthz(request):
    """Liveness: answered on the event loop, no thread and no database."""
    return JsonResponse({"status": "ok"})


def _database() -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return None


def _channel_layer() -> str | None:
    layer = get_channel_layer()
    if layer is None:
        return "no channel layer configured"

    async def roundtrip():
        # A group message to a fresh channel proves publish and subscribe both work.
        channel = await layer.new_channel()
        group = f"readyz.{uuid.uuid4().hex}"
        await layer.group_add(group, channel)
        try:
            await layer.group_send(group, {"type": "readyz.ping"})
            await asyncio.wait_for(layer.receive(channel), timeout=settings.READINESS_TIMEOUT)
        finally:
            await layer.group_discard(group, channel)

    async_to_sync(roundtrip)()
    return None


register_readiness_check("database", _database)
register_readiness_check("channel_layer", _channel_layer, uses_database=False)


def _problem(check) -> str | None:
    try:
        return check()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"[:300]


def _run_beside(checks: dict) -> tuple[dict[str, str], list[threading.Thread]]:
    """Start each check in a daemon thread; whatever has not answered when it is read is
    reported as such (its thread finishes, or fails, on its own later)."""
    results: dict[str, str] = {}

    def run(name: str, check) -> None:
        problem = _problem(check)
        results[name] = "ok" if problem is None else problem

    threads = [
        threading.Thread(target=run, args=(name, check), daemon=True, name=f"readyz-{name}")
        for name, check in checks.items()
    ]
    for thread in threads:
        thread.start()
    return results, threads


def readyz(request):
    """Readiness within about ``READINESS_TIMEOUT`` seconds whatever is down, naming each part:
    the database's own wait is bounded by the pool timeout (or ``connect_timeout``), the other
    parts run beside it and are read at the deadline."""
    timeout = settings.READINESS_TIMEOUT
    deadline = time.monotonic() + timeout
    checks = dict(_checks)
    beside = {name: fn for name, fn in checks.items() if name in _off_database}
    beside_results, threads = _run_beside(beside)
    results: dict[str, str] = {}
    database_ok = True
    for name, check in checks.items():
        if name in beside:
            continue
        if not database_ok or time.monotonic() > deadline:
            results[name] = "skipped: the database did not answer"
            continue
        problem = _problem(check)
        results[name] = "ok" if problem is None else problem
        if name == "database":
            database_ok = problem is None
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    for name in beside:
        results[name] = beside_results.get(name, f"no answer within {timeout:g} s")
    results = {name: results[name] for name in checks}
    ready = all(v == "ok" for v in results.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": results},
        status=200 if ready else 503,
    )
