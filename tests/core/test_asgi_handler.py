"""The ASGI handler lends each request a kept thread instead of making one per request."""

import threading

import pytest
from channels.testing import HttpCommunicator
from django.core.signals import request_finished, request_started

from core.asgi import PooledThreadsASGIHandler


@pytest.mark.django_db(transaction=True)
async def test_sequential_requests_reuse_one_thread_and_each_finishes_in_it():
    app = PooledThreadsASGIHandler()
    started, finished = [], []

    def on_started(**kwargs):
        started.append(threading.current_thread())

    def on_finished(**kwargs):
        finished.append(threading.current_thread())

    request_started.connect(on_started)
    request_finished.connect(on_finished)
    try:
        for _ in range(3):
            communicator = HttpCommunicator(
                app, "GET", "/login/", headers=[(b"host", b"testserver")]
            )
            response = await communicator.get_response()
            assert response["status"] == 200 and "登录".encode() in response["body"]
            await communicator.wait()  # the handler closes the response after the last byte
    finally:
        request_started.disconnect(on_started)
        request_finished.disconnect(on_finished)
    assert len(started) == len(finished) == 3
    # The same kept thread served every request, and each request ended in the thread it ran in
    # (where Django's request-finished handler returns the database connection).
    assert all(t is started[0] for t in started + finished)
    assert started[0] is not threading.current_thread()
