"""Our one middleware: ends idle sessions and holds back users who still owe a second factor."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from directory import accounts

# Reachable while a second factor is owed (and the static files, health and language switch).
OPEN_PREFIXES = ("/static/", "/healthz", "/readyz", "/i18n/")


def counts_as_activity(request) -> bool:
    """A person did something: any write, or a page opened (not a page's own background fetch,
    which browsers mark with another Sec-Fetch-Mode). Clients that send no such header count."""
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        return True
    return request.headers.get("Sec-Fetch-Mode", "navigate") == "navigate"


class AccountMiddleware:
    """After authentication and messages: idle timeout, then the second-factor gate."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated:
            if accounts.session_is_idle(request.session):
                user_id = user.pk
                logout(request)
                accounts.announce_revoked(user_id)
                messages.info(request, _("You were signed out after a period without activity."))
            else:
                if counts_as_activity(request):
                    accounts.record_activity(request.session)
                gate = self.second_factor_gate(request)
                if gate is not None:
                    return gate
        return self.get_response(request)

    def second_factor_gate(self, request):
        user = request.user
        if user.is_verified() or request.path.startswith(OPEN_PREFIXES):
            return None
        has_device = accounts.has_second_factor(user)
        if not has_device and not accounts.otp_required(user):
            return None
        target = reverse("account-verify") if has_device else reverse("two-step")
        if request.path in (target, reverse("logout"), reverse("admin:logout")):
            return None
        return redirect(f"{target}?{urlencode({'next': request.get_full_path()})}")
