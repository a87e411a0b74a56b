"""Django's stock middleware, with their hooks run on the event loop under ASGI.

Under Daphne, ``MiddlewareMixin`` runs every ``process_request``/``process_response`` (and the
handler every sync ``process_view``) through ``sync_to_async``: about a dozen thread hops per
request, each on a thread made for that request. Measured on the hotline intake, those hops cost
more than the request's own work. These hooks only read headers and cookies and set lazy
objects, so they run inline here; the only ones that may touch the database (saving a modified
session, storing flash messages) still go to a thread, exactly when they would do I/O.

Sync requests (the test client, ``runserver``) take ``MiddlewareMixin.__call__`` unchanged.
"""

from inspect import markcoroutinefunction

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import middleware as auth
from django.contrib.messages import middleware as messages
from django.contrib.sessions import middleware as sessions
from django.core.exceptions import ImproperlyConfigured
from django.middleware import clickjacking, common, csrf, locale, security


class InlineHooks:
    """Mixin for a ``MiddlewareMixin`` subclass whose hooks do no I/O."""

    def __init__(self, get_response):
        super().__init__(get_response)
        if self.async_mode and hasattr(self, "process_view"):
            # The handler hops a sync process_view to a thread; an async one it awaits.
            sync_process_view = self.process_view

            async def process_view(request, view_func, view_args, view_kwargs):
                return sync_process_view(request, view_func, view_args, view_kwargs)

            self.process_view = markcoroutinefunction(process_view)

    def response_needs_thread(self, request, response) -> bool:
        """True when ``process_response`` would do I/O for this request."""
        return False

    async def __acall__(self, request):
        response = None
        if hasattr(self, "process_request"):
            response = self.process_request(request)
        response = response or await self.get_response(request)
        if hasattr(self, "process_response"):
            if self.response_needs_thread(request, response):
                response = await sync_to_async(self.process_response, thread_sensitive=True)(
                    request, response
                )
            else:
                response = self.process_response(request, response)
        return response


class SecurityMiddleware(InlineHooks, security.SecurityMiddleware):
    pass


class SessionMiddleware(InlineHooks, sessions.SessionMiddleware):
    """Reading is lazy (the session loads when first used, in the view's thread); only a save
    writes to the database."""

    def response_needs_thread(self, request, response) -> bool:
        session = getattr(request, "session", None)
        return session is not None and (session.modified or settings.SESSION_SAVE_EVERY_REQUEST)


class LocaleMiddleware(InlineHooks, locale.LocaleMiddleware):
    pass


class CommonMiddleware(InlineHooks, common.CommonMiddleware):
    pass


class CsrfViewMiddleware(InlineHooks, csrf.CsrfViewMiddleware):
    """The token lives in a cookie, so no hook reads the session."""

    def __init__(self, get_response):
        if settings.CSRF_USE_SESSIONS:
            raise ImproperlyConfigured(
                "core.middleware.CsrfViewMiddleware needs CSRF_USE_SESSIONS off."
            )
        super().__init__(get_response)


class AuthenticationMiddleware(InlineHooks, auth.AuthenticationMiddleware):
    """Sets ``request.user`` as a lazy object; the user is loaded where it is first used."""


class MessageMiddleware(InlineHooks, messages.MessageMiddleware):
    """Storing messages may read the session (fallback storage): only when some were added or
    read during the request."""

    def response_needs_thread(self, request, response) -> bool:
        storage = getattr(request, "_messages", None)
        return storage is not None and (storage.used or storage.added_new)


class XFrameOptionsMiddleware(InlineHooks, clickjacking.XFrameOptionsMiddleware):
    pass
