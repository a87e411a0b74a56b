"""WebSocket authentication: the session cookie (browsers) or ``Authorization: Token`` (others)."""

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.security.websocket import AllowedHostsOriginValidator
from django.contrib.auth.models import AnonymousUser


@database_sync_to_async
def _user_for_token(key: str):
    from rest_framework.authtoken.models import Token

    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None or not token.user.is_active:
        return AnonymousUser()
    return token.user


class TokenAuthMiddleware:
    """Takes the user from an ``Authorization: Token <key>`` header when there is one."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        headers = dict(scope.get("headers", []))
        auth = headers.get(b"authorization", b"").decode("latin1")
        if auth.lower().startswith("token "):
            scope = dict(scope, user=await _user_for_token(auth[6:].strip()))
        return await self.inner(scope, receive, send)


def websocket_stack(inner):
    """Origin checked against ALLOWED_HOSTS (clients without an Origin header are allowed)."""
    return AllowedHostsOriginValidator(AuthMiddlewareStack(TokenAuthMiddleware(inner)))
