"""System checks of this project's own: the secret key a production server may start with."""

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

# What settings.py falls back to with no SECRET_KEY in the environment: good enough for tests
# and DEBUG, refused for a server that anyone else can reach.
EMBEDDED_DEFAULT_SECRET_KEY = "embedded-default-insecure-key-change-me-in-production"


def secret_key_problem() -> str:
    """Why the configured SECRET_KEY must not serve with DEBUG off, or "" when it may."""
    if settings.DEBUG:
        return ""
    key = str(settings.SECRET_KEY)
    if key == EMBEDDED_DEFAULT_SECRET_KEY:
        return "SECRET_KEY is the repository's default."
    if len(key) < settings.SECRET_KEY_MIN_LENGTH or len(set(key)) < 5:
        minimum = settings.SECRET_KEY_MIN_LENGTH
        return f"SECRET_KEY is shorter than {minimum} characters or repetitive."
    return ""


HINT = (
    "Set SECRET_KEY in the environment to a long random value, e.g. the output of "
    "python -c 'import secrets; print(secrets.token_urlsafe(50))' (make run makes one for the "
    "demo in .secret_key), or set DEBUG=1 on a development machine."
)


def check_secret_key(app_configs, **kwargs) -> list[checks.CheckMessage]:
    problem = secret_key_problem()
    return [checks.Error(problem, hint=HINT, id="core.E001")] if problem else []


def refuse_insecure_secret_key() -> None:
    """For entry points that run no system checks (the ASGI app under a bare ``daphne``)."""
    if problem := secret_key_problem():
        raise ImproperlyConfigured(f"{problem} {HINT}")
