"""With REDIS_URL set the broadcast goes through a real Redis server."""

import asyncio

import pytest
from channels.db import database_sync_to_async as sync_to_async
from channels.layers import get_channel_layer

from realtime import audiences as aud
from realtime.publish import publish


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
async def test_an_event_crosses_real_redis(network):
    layer = get_channel_layer()
    assert type(layer).__module__.startswith("channels_redis")
    org = aud.org(network["hotline"].pk)
    channel = await layer.new_channel()
    await layer.group_add(aud.group_name(org), channel)
    event = await sync_to_async(publish)("test.redis", audiences=[org])
    message = await asyncio.wait_for(layer.receive(channel), 5)
    assert message["event"]["id"] == event.id
