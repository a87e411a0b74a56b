"""Broadcasts from plain threads of a serving process go through the server's event loop."""

import asyncio
import sys
import threading
import types

import pytest
from channels.layers import get_channel_layer
from django.db import connection, transaction

from realtime import audiences as aud
from realtime.publish import publish


@pytest.mark.django_db(transaction=True)
async def test_the_in_process_worker_broadcasts_on_the_servers_loop(network, monkeypatch):
    """The in-process escalation worker is a plain thread: its broadcast must reach consoles
    whose queues live on the server's loop, at once and from that loop's own thread."""
    loop = asyncio.get_running_loop()
    # Daphne's module as `serve` has it: its loop is the one running the consoles (this test's).
    monkeypatch.setitem(sys.modules, "daphne.server", types.SimpleNamespace(twisted_loop=loop))
    layer = get_channel_layer()
    channel = await layer.new_channel()
    org = aud.org(network["hotline"].pk)
    await layer.group_add(aud.group_name(org), channel)
    sent_from = []
    real_group_send = layer.group_send

    async def group_send(group, message):
        sent_from.append(threading.current_thread())
        await real_group_send(group, message)

    monkeypatch.setattr(layer, "group_send", group_send)

    def worker_step():
        try:
            with transaction.atomic():
                publish("alert.raised", data={"n": 1}, audiences=[org])
        finally:
            connection.close()

    worker = threading.Thread(target=worker_step)  # not a sync_to_async thread
    worker.start()
    message = await asyncio.wait_for(layer.receive(channel), 2)
    worker.join()
    assert message["event"]["type"] == "alert.raised"
    assert sent_from and all(t is threading.current_thread() for t in sent_from)
