"""Twilio webhooks through the stock ASGI stack: Django runs each sync view in a thread of its
own, so a burst is taken several calls at a time and a repeat still counts once, on PostgreSQL."""

import asyncio
import threading
import time
from urllib.parse import urlencode

import pytest
from channels.testing import HttpCommunicator

from config.asgi import application
from hotline import services
from hotline.models import Call, Person
from tests.twilio_recorder import sign

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

INCOMING = "/twilio/voice/incoming/"


async def _deliver(params, signature):
    """One POST through ``config.asgi.application``, as Daphne would hand it over."""
    communicator = HttpCommunicator(
        application,
        "POST",
        INCOMING,
        body=urlencode(params).encode(),
        headers=[
            (b"host", b"testserver"),
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"x-twilio-signature", signature.encode()),
        ],
    )
    response = await communicator.get_response(timeout=30)
    await communicator.wait(timeout=30)
    return response


async def _signed(token, sid, from_):
    params = {"CallSid": sid, "From": from_, "To": "+865722251885", "CallStatus": "ringing"}
    return await _deliver(params, sign("http://testserver" + INCOMING, params, token))


async def test_a_burst_of_calls_is_queued_several_at_a_time_and_a_repeat_once(
    network, twilio, monkeypatch
):
    lock = threading.Lock()
    seen = {"now": 0, "peak": 0, "threads": set()}
    real = services.receive_call

    def watched(*args, **kwargs):
        with lock:
            seen["now"] += 1
            seen["peak"] = max(seen["peak"], seen["now"])
            seen["threads"].add(threading.get_ident())
        try:
            time.sleep(0.2)  # long enough for the others to arrive while this one works
            return real(*args, **kwargs)
        finally:
            with lock:
                seen["now"] -= 1

    monkeypatch.setattr(services, "receive_call", watched)
    sids = [f"CA{i:032d}" for i in range(6)]
    deliveries = [_signed(twilio.token, sid, f"+86139000012{i:02d}") for i, sid in enumerate(sids)]
    # Twilio retrying the first call while its first delivery is still being handled.
    deliveries.append(_signed(twilio.token, sids[0], "+8613900001200"))
    responses = await asyncio.gather(*deliveries)

    assert [r["status"] for r in responses] == [200] * 7
    assert all(b"<Enqueue" in r["body"] for r in responses)
    assert seen["peak"] > 1 and len(seen["threads"]) > 1
    assert await Call.objects.filter(call_sid__in=sids).acount() == 6
    assert await Person.objects.filter(phone="+8613900001200").acount() == 1


async def test_a_forged_webhook_is_refused_and_writes_nothing(network, twilio):
    params = {"CallSid": "CA" + "7" * 32, "From": "+8613900001299", "To": "+865722251885"}
    response = await _deliver(params, "forged")
    assert response["status"] == 403
    assert not await Call.objects.filter(call_sid=params["CallSid"]).aexists()


@pytest.mark.django_db(transaction=True)
def test_two_lines_racing_to_open_one_persons_case_end_with_one_case(network, monkeypatch):
    """Both calls find no open case before either writes one; the second insert meets the
    one-open-case index, rolls back and is taken again, joining the case the first opened."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    from hotline.models import Case
    from hotline.services import calls

    person = Person.objects.create(phone="+8613900004321")  # known, with no open case
    barrier = threading.Barrier(2, timeout=10)
    waited = threading.local()
    real = calls._insert_case

    def insert_case(*args, **kwargs):
        if not getattr(waited, "once", False):
            waited.once = True
            barrier.wait()  # both have seen "no open case"
        return real(*args, **kwargs)

    monkeypatch.setattr(calls, "_insert_case", insert_case)

    def call(sid):
        try:
            return services.receive_call(
                services.SYSTEM,
                hotline=network["hotline"],
                call_sid=sid,
                channel="twilio_voice",
                from_raw="+8613900004321",
            )
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(call, ["CA" + "1" * 32, "CA" + "2" * 32]))

    assert all(created for _call, created in results)
    [case] = Case.objects.filter(person=person)
    assert Call.objects.filter(case=case).count() == 2
