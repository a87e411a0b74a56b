"""Twilio glue shared by the hotline (inbound calls) and escalation (outbound alerts).

Webhooks are validated with the SDK's ``RequestValidator``; outgoing requests go through the SDK's
``Client``, whose HTTP client tests replace with a recording one (no live network).
"""

import functools
import inspect
import logging

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.conf import settings
from django.http import HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator
from twilio.rest import Client

log = logging.getLogger(__name__)

_http_client_override = None


def webhook_url(request) -> str:
    """The URL Twilio signed: the public base URL when behind a proxy, else the request's own."""
    base = settings.TWILIO_WEBHOOK_BASE_URL.rstrip("/")
    if base:
        return base + request.get_full_path()
    return request.build_absolute_uri()


def is_valid_twilio_request(request) -> bool:
    token = settings.TWILIO_AUTH_TOKEN
    if not token:
        # Without a token nothing can be verified, so nothing is trusted.
        log.warning("Twilio webhook refused: TWILIO_AUTH_TOKEN is not set")
        return False
    signature = request.headers.get("X-Twilio-Signature", "")
    return RequestValidator(token).validate(webhook_url(request), request.POST.dict(), signature)


def _forged() -> HttpResponseForbidden:
    return HttpResponseForbidden("Invalid Twilio signature.", content_type="text/plain")


def twilio_webhook(view):
    """POST only, CSRF-exempt (Twilio signs instead), 403 and nothing else on a bad signature.

    Works on sync and async views alike."""
    if inspect.iscoroutinefunction(view):

        @functools.wraps(view)
        async def wrapped(request, *args, **kwargs):
            if not is_valid_twilio_request(request):
                return _forged()
            return await view(request, *args, **kwargs)

    else:

        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            if not is_valid_twilio_request(request):
                return _forged()
            return view(request, *args, **kwargs)

    return csrf_exempt(require_POST(wrapped))


async def in_db_thread(fn, /, *args, **kwargs):
    """Run ``fn`` (a service: its own transactions) on a thread of the event loop's pool.

    The view stays on the event loop (signature check, TwiML) and only the database work takes
    a thread, from a pool shared by all requests, so a burst commits several calls at once
    while the loop parses the next requests. The connection is handed back when ``fn`` returns.
    ``WEBHOOKS_IN_THREAD_POOL = False`` keeps Django's one thread (tests that hold the data in
    their own transaction need their own connection).
    """
    if not settings.WEBHOOKS_IN_THREAD_POOL:
        return await sync_to_async(fn)(*args, **kwargs)
    # Channels' wrapper closes the thread's connection afterwards (back to the pool).
    return await database_sync_to_async(fn, thread_sensitive=False)(*args, **kwargs)


def twilio_configured() -> bool:
    return bool(settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN)


def twilio_client() -> Client:
    """The SDK client for the configured account (tests install a recording HTTP client)."""
    return Client(
        settings.TWILIO_ACCOUNT_SID,
        settings.TWILIO_AUTH_TOKEN,
        http_client=_http_client_override,
    )


def use_http_client(http_client) -> None:
    """Route every SDK request through ``http_client`` (None restores the SDK's own)."""
    global _http_client_override
    _http_client_override = http_client
