"""Headers and leaks (issue 15, finding 7): CSP without inline script, no-store, the API docs for
members only, no phone number in a URL or the access log, same-site ``next=``, and no server with
DEBUG off on the default or a short SECRET_KEY."""

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, RequestFactory

from core.access_log import PathOnlyAccessLog
from core.checks import EMBEDDED_DEFAULT_SECRET_KEY, refuse_insecure_secret_key
from core.http import same_site_next
from referrals.models import Referral
from tests.conftest import sign_in
from tests.referrals.conftest import referral  # noqa: F401 - the shared fixture

ROOT = Path(__file__).resolve().parents[2]


def signed_in(user) -> Client:
    return sign_in(Client(), user)


def directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {
        part.split()[0]: part.split()[1:] for part in (p.strip() for p in header.split(";")) if part
    }


# --- Content-Security-Policy ------------------------------------------------------------------


def test_every_page_has_a_policy_that_forbids_inline_script_and_framing(client, db):
    policy = directives(client.get("/login/"))
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["connect-src"] == ["'self'"]  # CSP 3: also ws:/wss: of the same host
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["default-src"] == ["'self'"]


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I)
INLINE_STYLE = re.compile(r"<[a-z][^>]*\sstyle\s*=|<style\b", re.I)


def test_no_template_of_the_project_has_inline_script_handlers_or_styles():
    offenders = []
    for path in ROOT.glob("**/templates/**/*.html"):
        if ".venv" in path.parts or "staticfiles" in path.parts:
            continue
        text = path.read_text()
        for pattern in (INLINE_SCRIPT, INLINE_HANDLER, INLINE_STYLE):
            offenders += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in pattern.finditer(text)]
    assert not offenders, "\n".join(offenders)


def test_the_patterns_catch_what_the_policy_would_block():
    assert INLINE_SCRIPT.search("<script>alert(1)</script>")
    assert not INLINE_SCRIPT.search('<script type="application/json" id="x">{}</script>')
    assert not INLINE_SCRIPT.search('<script src="/static/js/page.js" defer></script>')
    assert INLINE_HANDLER.search('<select name="language" onchange="this.form.submit()">')
    assert INLINE_STYLE.search('<div style="float: right">')


def test_the_rendered_role_pages_carry_no_inline_script(
    referral,  # noqa: F811
    counsellor_a,
    operator,
    coordinator,
    nurse,
    administrator,
):
    pages = {
        counsellor_a: ["/care/counselling/", f"/care/cases/{referral.case_id}/"],
        operator: ["/console/"],
        coordinator: ["/coordination/", "/dashboard/", "/dashboard/report/", "/care/follow-ups/"],
        nurse: ["/care/hospital/"],
        administrator: ["/admin/", "/admin/hotline/case/"],
    }
    for user, urls in pages.items():
        client = signed_in(user)
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, url
            html = response.content.decode()
            assert not INLINE_SCRIPT.search(html), url
            assert not INLINE_HANDLER.search(html), url
            assert "script-src 'self'" in response["Content-Security-Policy"]
    inbox = signed_in(counsellor_a).get("/care/counselling/").content.decode()
    assert 'data-min-label="分钟" data-overdue-label="已超时"' in inbox
    assert "js/countdown.js" in inbox


# --- Cache-Control: no-store ------------------------------------------------------------------


def test_pages_and_api_answers_are_never_stored(client_for, operator, hotline_case):
    page = signed_in(operator).get("/console/")
    assert "no-store" in page["Cache-Control"] and "private" in page["Cache-Control"]
    api = client_for(operator).get(f"/api/v1/cases/{hotline_case.pk}/")
    assert api.status_code == 200
    assert "no-store" in api["Cache-Control"]
    refused = client_for(operator).get("/api/v1/cases/999999/")
    assert refused.status_code == 404 and "no-store" in refused["Cache-Control"]


# --- the API docs -----------------------------------------------------------------------------


def test_the_api_docs_and_schema_are_for_members_only(client, client_for, operator):
    docs = client.get("/api/docs/")
    assert docs.status_code == 302 and docs["Location"].startswith("/login/?next=/api/docs/")
    assert client.get("/api/schema/").status_code == 401
    assert client_for(operator).get("/api/schema/").status_code == 200  # the schemathesis runner


def test_the_api_docs_load_swagger_ui_from_this_site_with_no_inline_script(operator):
    member = signed_in(operator)
    docs = member.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    assert not INLINE_SCRIPT.search(html)
    policy = directives(docs)
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]  # Swagger UI's own styles
    script = member.get("/api/docs/", {"script": ""})
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()
    assert script["Content-Type"].startswith("application/javascript")


# --- no phone number in a URL or the access log -----------------------------------------------


def test_people_are_searched_by_phone_in_the_body(client_for, operator, outsider, hotline_case):
    found = client_for(operator).post(
        "/api/v1/people/search/", {"phone": "138 0000 0002"}, format="json"
    )
    assert found.status_code == 200
    assert [p["id"] for p in found.json()["results"]] == [hotline_case.person_id]
    nobody = client_for(outsider).post(
        "/api/v1/people/search/", {"phone": "13800000002"}, format="json"
    )
    assert nobody.status_code == 200 and nobody.json()["results"] == []


def test_a_phone_number_in_the_query_string_is_refused(client_for, operator, hotline_case):
    response = client_for(operator).get("/api/v1/people/", {"phone": "13800000002"})
    assert response.status_code == 400
    assert "POST people/search/" in str(response.json()["fields"]["phone"])
    bad = client_for(operator).post("/api/v1/people/search/", {"phone": "12"}, format="json")
    assert bad.status_code == 400 and "phone" in bad.json()["fields"]
    assert client_for(operator).post("/api/v1/people/search/", {}, format="json").status_code == 400


def test_the_access_log_keeps_no_query_string():
    stream = io.StringIO()
    log = PathOnlyAccessLog(stream)
    details = {"method": "GET", "status": 200, "client": "127.0.0.1:5", "size": 10}
    log("http", "complete", {**details, "path": "/api/v1/people/?phone=13800000002"})
    log("websocket", "connected", {"client": "127.0.0.1:5", "path": "/ws/console/?x=小周"})
    written = stream.getvalue()
    assert '"GET /api/v1/people/" 200 10' in written
    assert '"WSCONNECT /ws/console/"' in written
    assert "13800000002" not in written and "小周" not in written


# --- next= only to paths on this site ---------------------------------------------------------

FOREIGN = [
    "https://evil.example/care/",
    "//evil.example/care/",
    "/\\evil.example/care/",
    "http:/evil.example",
    "javascript:alert(1)",
]


@pytest.mark.parametrize("target", FOREIGN)
def test_a_care_form_never_redirects_off_the_site(referral, counsellor_a, target):  # noqa: F811
    response = signed_in(counsellor_a).post(
        f"/care/referrals/{referral.pk}/acknowledge/", {"next": target}
    )
    assert response.status_code == 302
    assert response["Location"] == "/care/counselling/"
    assert Referral.objects.get(pk=referral.pk).state == "acknowledged"


def test_a_care_form_follows_a_path_on_this_site(referral, counsellor_a):  # noqa: F811
    back = f"/care/cases/{referral.case_id}/#referrals"
    response = signed_in(counsellor_a).post(
        f"/care/referrals/{referral.pk}/acknowledge/", {"next": back}
    )
    assert response["Location"] == back


@pytest.mark.parametrize("target", [*FOREIGN, "/care/counselling/"])
def test_the_board_only_goes_back_within_the_board(target):
    request = RequestFactory().post("/coordination/alerts/1/acknowledge/", {"next": target})
    assert same_site_next(request, "/coordination/", within="/coordination/") == "/coordination/"
    request = RequestFactory().post("/x/", {"next": "/coordination/alerts/7/"})
    assert same_site_next(request, "/", within="/coordination/") == "/coordination/alerts/7/"


# --- SECRET_KEY -------------------------------------------------------------------------------


def errors_of(settings) -> set[str]:
    return {m.id for m in run_checks(tags=["security"]) if m.is_serious()}


def test_debug_off_refuses_the_default_and_short_keys(settings):
    settings.DEBUG = False
    settings.SECRET_KEY = EMBEDDED_DEFAULT_SECRET_KEY
    assert "core.E001" in errors_of(settings)
    with pytest.raises(ImproperlyConfigured, match="repository's default"):
        refuse_insecure_secret_key()
    settings.SECRET_KEY = "short-but-random-9f8e7d6c5b4a"
    assert "core.E001" in errors_of(settings)
    settings.SECRET_KEY = "a" * 80  # long but one character
    assert "core.E001" in errors_of(settings)
    settings.SECRET_KEY = "kD8-vQ2_" * 8
    assert "core.E001" not in errors_of(settings)
    refuse_insecure_secret_key()


def test_debug_on_allows_the_default_key(settings):
    settings.DEBUG = True
    settings.SECRET_KEY = EMBEDDED_DEFAULT_SECRET_KEY
    assert "core.E001" not in errors_of(settings)


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**clean, **env},
        timeout=120,
    )


def test_check_deploy_and_serve_refuse_the_default_key():
    check = manage("check", "--deploy")
    assert check.returncode != 0 and "core.E001" in check.stderr
    # serve runs the system checks before it binds a port (0: it would never get that far).
    serve = manage("serve", "--port", "0")
    assert serve.returncode != 0 and "core.E001" in serve.stderr
    assert "Serving on" not in serve.stdout
    short = manage("check", SECRET_KEY="x1y2z3" * 5)
    assert short.returncode != 0 and "core.E001" in short.stderr
    assert manage("check", DEBUG="1").returncode == 0
