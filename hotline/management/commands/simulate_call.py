"""Make a call arrive without a Twilio account: post to the running server's voice webhook what
Twilio would, signed with the configured auth token, so the call queues on the operators' console.

    python manage.py simulate_call --from +8613800000000
"""

import secrets
import urllib.error
import urllib.parse
import urllib.request

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse
from twilio.request_validator import RequestValidator

HOTLINE_NUMBER = "+865722251885"  # 0572-2251885, the hotline Twilio would put in "To"


class Command(BaseCommand):
    help = "Post a signed Twilio voice webhook to a running server so that a call arrives."
    # It only talks to a server over HTTP: the server's own checks (the secret key) are not its.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="from_number", required=True, help="e.g. +8613800000000")
        parser.add_argument("--to", default=HOTLINE_NUMBER, help="the number dialled")
        parser.add_argument(
            "--server",
            default="http://127.0.0.1:8000",
            help="the running server's base URL (make run's HOST and PORT)",
        )
        parser.add_argument("--call-sid", help="Twilio's call id (default: a new random one)")

    def handle(self, *args, from_number, to, server, call_sid, **options):
        token = settings.TWILIO_AUTH_TOKEN
        if not token:
            raise CommandError(
                "TWILIO_AUTH_TOKEN is not set: the server refuses unsigned webhooks. Set it to the "
                "server's value (make run and make call use the demo's .twilio_demo_token)."
            )
        if urllib.parse.urlsplit(server).scheme not in ("http", "https"):
            raise CommandError(f"--server must be an http(s) URL, not {server!r}.")
        base = (settings.TWILIO_WEBHOOK_BASE_URL or server).rstrip("/")
        url = base + reverse("hotline-twilio-incoming")
        params = {
            "CallSid": call_sid or "CA" + secrets.token_hex(16),
            "AccountSid": settings.TWILIO_ACCOUNT_SID or "AC" + "0" * 32,
            "From": from_number,
            "To": to,
            "CallStatus": "ringing",
            "Direction": "inbound",
        }
        signature = RequestValidator(token).compute_signature(url, params)
        request = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
            server.rstrip("/") + reverse("hotline-twilio-incoming"),
            data=urllib.parse.urlencode(params).encode(),
            headers={"X-Twilio-Signature": signature},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                response.read()
        except urllib.error.HTTPError as exc:
            hint = " (the server's TWILIO_AUTH_TOKEN differs)" if exc.code == 403 else ""
            raise CommandError(
                f"The server answered {exc.code}{hint}: {exc.read()[:200]!r}"
            ) from exc
        except urllib.error.URLError as exc:
            raise CommandError(
                f"No server at {server}: {exc.reason}. Is `make run` running?"
            ) from exc
        sid = params["CallSid"]
        self.stdout.write(
            self.style.SUCCESS(f"Call {sid} from {from_number} arrived: see {server}/console/")
        )
