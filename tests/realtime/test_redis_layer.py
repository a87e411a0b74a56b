"""With REDIS_URL set the broadcast goes through a real Redis server."""

import asyncio

import pytest
from channels.db import database_sync_to_async as sync_to_async
from channels.layers import get_channel_layer
from django.db import connection, transaction

from realtime import audiences as aud
from realtime.publish import publish


def _redis_layer():
    layer = get_channel_layer()
    assert type(layer).__module__.startswith("channels_redis")
    return layer


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
async def test_an_event_crosses_real_redis(network):
    layer = _redis_layer()
    org = aud.org(network["hotline"].pk)
    channel = await layer.new_channel()
    await layer.group_add(aud.group_name(org), channel)
    event = await sync_to_async(publish)("test.redis", audiences=[org])
    message = await asyncio.wait_for(layer.receive(channel), 5)
    assert message["event"]["id"] == event.id


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
async def test_a_plain_thread_broadcasts_through_real_redis(network):
    """The standalone worker's case: no async code above it, so the send gets a loop of its own."""
    layer = _redis_layer()
    org = aud.org(network["hotline"].pk)
    channel = await layer.new_channel()
    await layer.group_add(aud.group_name(org), channel)

    def worker_step():
        try:
            with transaction.atomic():
                return publish("test.from_a_thread", audiences=[org])
        finally:
            connection.close()

    event = await asyncio.to_thread(worker_step)
    message = await asyncio.wait_for(layer.receive(channel), 5)
    assert message["event"]["id"] == event.id


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
async def test_a_console_gets_each_event_once_through_real_redis(console, network, operator):
    _redis_layer()
    hotline = network["hotline"].pk
    async with console(operator) as c:
        # In two of the user's audiences: two group messages, one frame.
        both = [aud.org(hotline), aud.org_role(hotline, "operator")]
        event = await sync_to_async(publish)("test.redis", audiences=both)
        assert await c.frame(5) == event.as_message()
        assert await c.silent(0.5)
