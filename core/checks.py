"""Django's deploy checks, kept meaningful with ``core.middleware``.

Django's security checks look for its middleware by dotted path ("is
``django.middleware.security.SecurityMiddleware`` in MIDDLEWARE?"), so with the subclasses in
``core.middleware`` they would report the middleware missing and then skip, passing, every check
that depends on it (HSTS, SSL redirect, secure cookies...). Their three "missing" warnings are
silenced in settings and the checks run again here with each subclass named as its Django class.
"""

from django.conf import settings
from django.core.checks import Tags, register
from django.core.checks import Warning as CheckWarning
from django.core.checks.security import base, csrf, sessions
from django.test.utils import override_settings

from core import middleware

STOCK_PATHS = {
    f"core.middleware.{cls.__name__}": f"{stock.__module__}.{stock.__qualname__}"
    for cls in vars(middleware).values()
    if isinstance(cls, type) and issubclass(cls, middleware.InlineHooks)
    for stock in cls.__mro__[2:3]  # (cls, InlineHooks, the Django class, ...)
}

# Django's checks that ask whether a middleware is installed.
GATED = (
    base.check_security_middleware,
    base.check_xframe_options_middleware,
    base.check_sts,
    base.check_sts_include_subdomains,
    base.check_sts_preload,
    base.check_content_type_nosniff,
    base.check_ssl_redirect,
    base.check_xframe_deny,
    base.check_referrer_policy,
    base.check_cross_origin_opener_policy,
    csrf.check_csrf_middleware,
    csrf.check_csrf_cookie_secure,
    sessions.check_session_cookie_secure,
    sessions.check_session_cookie_httponly,
)
# The silenced ones, reported here under our ids when the middleware is really missing.
RENAMED = {"security.W001": "core.W001", "security.W002": "core.W002", "security.W003": "core.W003"}


@register(Tags.security, deploy=True)
def deploy_checks_with_inline_middleware(app_configs, **kwargs):
    named = [STOCK_PATHS.get(path, path) for path in settings.MIDDLEWARE]
    found = []
    with override_settings(MIDDLEWARE=named):
        for check in GATED:
            found += check(app_configs)
    return [
        CheckWarning(m.msg, hint=m.hint, id=RENAMED[m.id]) if m.id in RENAMED else m for m in found
    ]
