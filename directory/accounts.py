"""Account security (账号安全): who must use a second factor, when a session has gone idle, and
the signal that tells open sockets a credential has ended.

The libraries do the heavy parts: django-axes the lockout, django-rest-knox the expiring API
tokens, django-otp the TOTP codes. What is ours is the product's rule on top of them.
"""

import time
from importlib import import_module

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.db import transaction
from django.db.models import Q
from django.db.models.signals import post_delete
from django.dispatch import Signal, receiver
from django.utils import timezone
from django_otp import user_has_device
from knox.models import AuthToken

from directory.access import is_administrator

# Sent (after the commit) when a session of ``user`` ended or one of its API tokens was
# revoked; realtime closes the sockets that used it.
credentials_revoked = Signal()

LAST_ACTIVITY = "accounts.last_activity"  # session key: epoch seconds of the last user action
ACTIVITY_RESOLUTION = 30  # seconds; the stamp is rewritten at most this often


def otp_required(user) -> bool:
    """Administrators (and anyone who can open the admin site) need a second factor."""
    if not user or not user.is_authenticated:
        return False
    return user.is_superuser or user.is_staff or is_administrator(user)


def user_is_verified(user) -> bool:
    """True when this request's user entered a TOTP or backup code in this session."""
    is_verified = getattr(user, "is_verified", None)  # set by django-otp's middleware
    return bool(user and user.is_authenticated and is_verified and is_verified())


def accounts_verified(request) -> bool:
    """For flows that need a second factor (break-glass 紧急查阅): a session verified with a code,
    or an API token, which is issued only with a code to anyone who has a second factor."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    if getattr(request, "auth", None) is not None:  # DRF token authentication
        return has_second_factor(user)
    return user_is_verified(user)


def has_second_factor(user) -> bool:
    return user_has_device(user, confirmed=True)


def idle_limit_seconds() -> int:
    return int(settings.SESSION_IDLE_MINUTES) * 60


def session_is_idle(session, now: float | None = None) -> bool:
    """The session's last user action is older than SESSION_IDLE_MINUTES."""
    last = session.get(LAST_ACTIVITY)
    if last is None:
        return False  # stamped on its first request; an unstamped session is brand new
    return (now or time.time()) - float(last) > idle_limit_seconds()


def record_activity(session, now: float | None = None) -> None:
    now = now or time.time()
    last = session.get(LAST_ACTIVITY)
    if last is None or now - float(last) >= ACTIVITY_RESOLUTION:
        session[LAST_ACTIVITY] = int(now)


def session_store(session_key: str | None):
    """The session as stored now (Django's documented SessionStore of the configured engine)."""
    engine = import_module(settings.SESSION_ENGINE)
    return engine.SessionStore(session_key=session_key)


def session_is_live(session_key: str | None, user_id: int) -> bool:
    """The session still exists, is unexpired, belongs to the user and is not idle."""
    if not session_key:
        return False
    session = session_store(session_key)
    if str(session.get(SESSION_KEY, "")) != str(user_id):
        return False  # flushed, expired (the store loads nothing) or someone else's
    return not session_is_idle(session)


def token_is_live(token_key: str) -> bool:
    """The knox token (by its stored key prefix) is neither revoked nor expired."""
    alive = Q(expiry__isnull=True) | Q(expiry__gt=timezone.now())
    return AuthToken.objects.filter(alive, token_key=token_key).exists()


def announce_revoked(user_id: int) -> None:
    """Tell listeners (realtime) after the commit that a credential of the user ended."""
    transaction.on_commit(lambda: credentials_revoked.send(sender=AuthToken, user_id=user_id))


def revoke_api_tokens(user) -> int:
    """Delete every API token of the user (page logout ends them all, 登出即吊销)."""
    deleted, _ = AuthToken.objects.filter(user=user).delete()
    return deleted


@receiver(post_delete, sender=AuthToken, dispatch_uid="directory.accounts.token_deleted")
def token_deleted(sender, instance, **kwargs):
    """However a token goes (knox logout, logoutall, expiry clean-up, admin), sockets hear."""
    announce_revoked(instance.user_id)
