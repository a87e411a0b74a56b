"""Every dependency through its public API: none of the private parts a code review found
(issue 12) comes back, MIDDLEWARE is Django's own plus an allow-list, and no check is silenced."""

import os
import re
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
THIS_FILE = Path(__file__).resolve()

# What the review found, as it appears in code (a pattern, and what it reached into).
PRIVATE_PARTS = {
    r"\b_get_layer\b": "channels_redis: the pub/sub layer's per-loop layer",
    r"\.channels\.get\(": "channels_redis: a channel's inbox queue",
    r"\bput_nowait\s*=": "asyncio: a queue method replaced",
    r"\bsend\.args\b": "Daphne: the protocol inside its send partial",
    r"_perMessageCompress": "autobahn: the compression state",
    r"\bpayloadHybi\b": "autobahn: a prepared message's bytes",
    r"_tempDataBuffer": "Twisted: the transport's write buffer",
    r"\bwriteSomeData\b": "Twisted: the transport's raw write",
    r"SyncToAsync\.threadlocal": "asgiref: the thread's event loop",
    r"\btwisted_loop\b": "Daphne: the server's event loop",
    r"__acall__": "Django: MiddlewareMixin's async call",
    r"\basync_mode\b": "Django: MiddlewareMixin's async flag",
    r"(\.|[\"'])_messages\b": "Django: the request's message storage",
    r"\bget_compiler\(": "Django: a query's SQL compiler",
    r"_state\.adding": "Django: a model instance's state",
    r"\blast_insert_id\b": "Django: the backend's last insert id",
    r"\bjson_populate_record\b": "PostgreSQL: hand-built INSERTs beside the ORM",
    r"\bMiddlewareMixin\b": "Django: the middleware mixin's internals",
}


def project_files() -> list[Path]:
    found = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in {"__pycache__"}]
        found += [Path(folder) / f for f in files if f.endswith(".py")]
    return [path for path in found if path.resolve() != THIS_FILE]


def hits(pattern: str, files: list[Path]) -> list[str]:
    regex = re.compile(pattern)
    found = []
    for path in files:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if regex.search(line):
                found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    return found


def test_the_search_sees_the_project():
    names = {str(path.relative_to(ROOT)) for path in project_files()}
    assert {"manage.py", "realtime/consumers.py", "config/settings.py"} <= names
    assert not any(name.startswith(".venv") for name in names)


@pytest.mark.parametrize("pattern", PRIVATE_PARTS, ids=list(PRIVATE_PARTS.values()))
def test_no_module_uses_a_private_part_of_a_dependency(pattern):
    found = hits(pattern, project_files())
    assert not found, "\n".join(found)


def test_override_settings_is_only_for_tests():
    outside_tests = [p for p in project_files() if p.relative_to(ROOT).parts[0] != "tests"]
    found = hits(r"\boverride_settings\b", outside_tests)
    assert not found, "\n".join(found)


# Middleware beyond Django's own: well-kept libraries and our own two, by name.
ALLOWED_MIDDLEWARE = {
    "servestatic.middleware.ServeStaticMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "axes.middleware.AxesMiddleware",
    "csp.middleware.CSPMiddleware",
    "directory.middleware.AccountMiddleware",
    "core.middleware.NoStoreMiddleware",  # one public call: add_never_cache_headers
}


def test_middleware_is_djangos_own_and_an_allow_list():
    others = [
        m
        for m in settings.MIDDLEWARE
        if not m.startswith("django.") and m not in ALLOWED_MIDDLEWARE
    ]
    assert not others, "\n".join(others)


def test_no_system_check_is_silenced():
    assert settings.SILENCED_SYSTEM_CHECKS == []
