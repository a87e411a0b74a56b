"""Small HTTP helpers every app's views share."""

from django.utils.http import url_has_allowed_host_and_scheme


def same_site_next(request, fallback: str, *, within: str = "/") -> str:
    """The form's ``next`` when it is a path on this site (under ``within``), else ``fallback``.

    A user-supplied redirect target is an open redirect unless checked: ``//evil.example``,
    ``/\\evil.example`` and absolute URLs all leave the site; Django's own check rejects them.
    """
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith(within) and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback
