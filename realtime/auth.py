"""WebSocket authentication: the session cookie (browsers) or ``Authorization: Token`` (others).

A socket lives only as long as its credential: when a session ends or an API token is revoked
(``directory.accounts.credentials_revoked``) the user's group gets ``console.revoke`` and each of
their consoles re-checks its own credential (``credential_alive``); the heartbeat re-checks too.
"""

from asgiref.sync import async_to_sync
from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.dispatch import receiver
from knox.auth import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from directory import accounts
from realtime import audiences as aud

TOKEN_KEY = "auth_token_key"  # scope key: the knox token's stored key when a token was used


@database_sync_to_async
def _user_for_token(key: str):
    """(user, token key) for a live knox token, else (AnonymousUser, None)."""
    try:
        user, token = TokenAuthentication().authenticate_credentials(key.encode())
    except AuthenticationFailed:
        return AnonymousUser(), None
    return user, token.token_key


@database_sync_to_async
def _session_alive(session_key: str | None, user_id: int) -> bool:
    return accounts.session_is_live(session_key, user_id)


@database_sync_to_async
def _token_alive(token_key: str) -> bool:
    return accounts.token_is_live(token_key)


async def credential_alive(scope) -> bool:
    """The token or session this socket was opened with is still valid (not revoked, expired,
    idle or signed out)."""
    user = scope.get("user")
    if user is None or not user.is_authenticated:
        return False
    if scope.get(TOKEN_KEY):
        return await _token_alive(scope[TOKEN_KEY])
    session = scope.get("session")
    return await _session_alive(session.session_key if session else None, user.pk)


class TokenAuthMiddleware:
    """Takes the user from an ``Authorization: Token <key>`` header when there is one; a session
    user whose session has gone idle is no user."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        headers = dict(scope.get("headers", []))
        auth = headers.get(b"authorization", b"").decode("latin1")
        if auth.lower().startswith("token "):
            user, token_key = await _user_for_token(auth[6:].strip())
            scope = dict(scope, user=user, **{TOKEN_KEY: token_key})
        elif not await credential_alive(scope):
            scope = dict(scope, user=AnonymousUser())
        return await self.inner(scope, receive, send)


@receiver(accounts.credentials_revoked, dispatch_uid="realtime.auth.close_revoked")
def close_revoked(sender, user_id: int, **kwargs):
    """Each console of the user re-checks its credential and closes if it has ended."""
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(
            aud.group_name(aud.user(user_id)), {"type": "console.revoke"}
        )


class BrowserOriginValidator(OriginValidator):
    """A browser's Origin must be one of ALLOWED_HOSTS; a client sending none is not a browser.

    Cross-site WebSocket hijacking needs a victim's browser, and browsers always send Origin;
    a non-browser client (a token holder, the bench) sends none and still has to authenticate.
    """

    def valid_origin(self, parsed_origin):
        return parsed_origin is None or super().valid_origin(parsed_origin)


def websocket_stack(inner):
    """Origin checked against ALLOWED_HOSTS (clients without an Origin header are allowed)."""
    allowed = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not allowed:
        allowed = ["localhost", "127.0.0.1", "[::1]"]
    return BrowserOriginValidator(AuthMiddlewareStack(TokenAuthMiddleware(inner)), allowed)
