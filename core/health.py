"""Liveness and readiness. Apps add their checks with ``register_readiness_check`` in ready();
the root URLconf serves ``healthz`` and ``readyz`` from here."""

import asyncio
import uuid
from collections.abc import Callable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from django.http import JsonResponse

_checks: dict[str, Callable[[], str | None]] = {}


def register_readiness_check(name: str, fn: Callable[[], str | None]) -> None:
    """``fn`` returns None when healthy, or a short reason when not."""
    _checks[name] = fn


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
            await asyncio.wait_for(layer.receive(channel), timeout=2)
        finally:
            await layer.group_discard(group, channel)

    async_to_sync(roundtrip)()
    return None


register_readiness_check("database", _database)
register_readiness_check("channel_layer", _channel_layer)


def readyz(request):
    results = {}
    for name, check in _checks.items():
        try:
            problem = check()
        except Exception as exc:
            problem = f"{type(exc).__name__}: {exc}"
        results[name] = "ok" if problem is None else problem
    ready = all(v == "ok" for v in results.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": results},
        status=200 if ready else 503,
    )
