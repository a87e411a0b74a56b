"""HTTP under ASGI is Django's stock handler inside Channels' ProtocolTypeRouter."""

import threading

import pytest
from channels.testing import HttpCommunicator
from django.core.handlers.asgi import ASGIHandler
from django.core.signals import request_finished, request_started

from config import asgi


def test_http_is_djangos_own_asgi_handler():
    assert type(asgi.django_asgi_app) is ASGIHandler


@pytest.mark.django_db(transaction=True)
async def test_a_page_through_the_asgi_application_runs_the_middleware_in_a_request_thread():
    started, finished = [], []

    def on_started(**kwargs):
        started.append(threading.current_thread())

    def on_finished(**kwargs):
        finished.append(threading.current_thread())

    request_started.connect(on_started)
    request_finished.connect(on_finished)
    try:
        communicator = HttpCommunicator(
            asgi.application, "GET", "/login/", headers=[(b"host", b"testserver")]
        )
        response = await communicator.get_response(timeout=30)
        await communicator.wait(timeout=30)
    finally:
        request_started.disconnect(on_started)
        request_finished.disconnect(on_finished)
    assert response["status"] == 200 and "登录".encode() in response["body"]
    headers = dict(response["headers"])
    assert headers[b"X-Frame-Options"] == b"DENY"  # the stock middleware ran
    assert headers[b"X-Content-Type-Options"] == b"nosniff"
    # Django's request signals fire off the event loop's thread (where it returns the
    # database connection).
    assert len(started) == len(finished) == 1
    assert started[0] is not threading.current_thread()
