"""Twilio glue shared by the hotline (inbound calls) and escalation (outbound alerts).

Webhooks are validated with the SDK's ``RequestValidator``; outgoing requests go through the SDK's
``Client``, whose HTTP client tests replace with a recording one (no live network).
"""

import functools
import logging

import requests
from django import forms
from django.conf import settings
from django.http import HttpResponseBadRequest, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator
from twilio.rest import Client

log = logging.getLogger(__name__)

_http_client_override = None
_media_client_override = None


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


def twilio_webhook(view):
    """POST only, CSRF-exempt (Twilio signs instead), 403 and nothing else on a bad signature."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        if not is_valid_twilio_request(request):
            return HttpResponseForbidden("Invalid Twilio signature.", content_type="text/plain")
        return view(request, *args, **kwargs)

    return csrf_exempt(require_POST(wrapped))


class WebhookForm(forms.Form):
    """The parameters a Twilio webhook reads, checked after the signature and before any
    database work: Django's ``CharField`` refuses NUL bytes, ``max_length`` matches the columns,
    so a signed but malformed request is a 400 that changes nothing, never a 500. Parameters a
    view does not read are ignored."""

    def bad_request(self) -> HttpResponseBadRequest:
        errors = "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in self.errors.items())
        return HttpResponseBadRequest(errors, content_type="text/plain; charset=utf-8")


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


class MediaClient:
    """Downloads a recording's audio. The SDK's ``HttpClient`` answers decoded text, which would
    corrupt binary audio, so the media alone is fetched with ``requests`` (the HTTP library the
    SDK itself uses), with the account's credentials, following Twilio's redirect."""

    def download(self, url: str, auth: tuple[str, str]) -> tuple[bytes, str]:
        response = requests.get(url, auth=auth, timeout=120)
        response.raise_for_status()
        return response.content, response.headers.get("Content-Type", "")


def download_media(url: str) -> tuple[bytes, str]:
    """(bytes, content type) of a Twilio media URL (tests install a recording media client)."""
    client = _media_client_override or MediaClient()
    return client.download(url, (settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN))


def use_media_client(media_client) -> None:
    """Route media downloads through ``media_client.download(url, auth)`` (None: ``requests``)."""
    global _media_client_override
    _media_client_override = media_client


def public_url(path: str) -> str:
    """An absolute URL Twilio can fetch (status callbacks, hold music): the public base URL
    when behind a proxy, else ``ESCALATION_PUBLIC_BASE_URL`` (the embedded default)."""
    base = (settings.TWILIO_WEBHOOK_BASE_URL or settings.ESCALATION_PUBLIC_BASE_URL).rstrip("/")
    return base + path
