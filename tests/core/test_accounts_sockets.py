"""An open console socket ends with its credential: a revoked token or a signed-out session
closes it within seconds (the revoke nudge), and the heartbeat re-checks as a backstop."""

import pytest
from channels.db import database_sync_to_async as db
from django.test import Client
from knox.models import AuthToken

from tests.realtime.conftest import ORIGIN, Console, communicator

pytestmark = pytest.mark.django_db(transaction=True)


async def open_with(headers):
    ws = communicator("/ws/console/", [(b"origin", ORIGIN), *headers])
    connected, _ = await ws.connect(timeout=10)
    assert connected
    console = Console(ws)
    console.hello = await console.frame()
    return console


async def test_deleting_the_token_closes_its_socket(operator):
    instance, token = await db(AuthToken.objects.create)(user=operator)
    c = await open_with([(b"authorization", f"Token {token}".encode())])
    try:
        await db(instance.delete)()
        assert await c.closed_with(timeout=3) == 4401
    finally:
        await c.ws.disconnect()


async def test_another_tokens_revocation_leaves_the_socket_open(operator):
    _instance, token = await db(AuthToken.objects.create)(user=operator)
    other, _ = await db(AuthToken.objects.create)(user=operator)
    c = await open_with([(b"authorization", f"Token {token}".encode())])
    try:
        await db(other.delete)()
        await c.send({"type": "ping"})
        assert (await c.frame(timeout=3))["type"] == "pong"
    finally:
        await c.ws.disconnect()


async def test_logging_out_closes_the_pages_socket(operator):
    browser = Client()
    await db(browser.force_login)(operator)
    cookie = browser.cookies["sessionid"].value
    c = await open_with([(b"cookie", f"sessionid={cookie}".encode())])
    try:
        response = await db(browser.post)("/logout/")
        assert response.status_code == 302
        assert await c.closed_with(timeout=3) == 4401
    finally:
        await c.ws.disconnect()


async def test_the_heartbeat_closes_a_socket_whose_session_vanished(operator, settings):
    settings.REALTIME_HEARTBEAT_SECONDS = 0.3
    browser = Client()
    await db(browser.force_login)(operator)
    cookie = browser.cookies["sessionid"].value
    c = await open_with([(b"cookie", f"sessionid={cookie}".encode())])
    try:
        from django.contrib.sessions.models import Session

        # Deleted behind the app's back (no nudge): only the heartbeat notices.
        await db(lambda: Session.objects.filter(session_key=cookie).delete())()
        assert await c.closed_with(timeout=3) == 4401
    finally:
        await c.ws.disconnect()


async def test_an_expired_token_cannot_open_a_socket(operator):
    from django.utils import timezone

    instance, token = await db(AuthToken.objects.create)(user=operator)
    await db(AuthToken.objects.filter(pk=instance.pk).update)(expiry=timezone.now())
    ws = communicator(
        "/ws/console/", [(b"origin", ORIGIN), (b"authorization", f"Token {token}".encode())]
    )
    connected, _ = await ws.connect(timeout=10)
    await ws.disconnect()
    assert not connected


@pytest.mark.redis
async def test_revocation_reaches_the_socket_through_redis(operator):
    instance, token = await db(AuthToken.objects.create)(user=operator)
    c = await open_with([(b"authorization", f"Token {token}".encode())])
    try:
        await db(instance.delete)()
        assert await c.closed_with(timeout=3) == 4401
    finally:
        await c.ws.disconnect()
