"""The public chat page /chat/: no account, Chinese, the questions and the numbers, strict CSP."""

import re

import pytest

pytestmark = pytest.mark.django_db


def test_anyone_may_open_the_chat_page_without_signing_in(client, network):
    response = client.get("/chat/", headers={"accept-language": "zh-hans"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "你现在安全吗？" in page
    assert 'name="safe" value="no"' in page and 'name="age_group"' in page
    assert '<option value="330502">吴兴区</option>' in page  # the line's districts
    for number in ("2251885", "12356", "110", "120"):
        assert f'href="tel:{number}"' in page


def test_the_page_runs_no_inline_script_or_style_and_no_third_party_code(client, network):
    response = client.get("/chat/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    page = response.content.decode()
    scripts = re.findall(r"<script([^>]*)>", page)
    assert all('src="/static/' in s or 'type="application/json"' in s for s in scripts)
    assert "<style" not in page and " style=" not in page
    assert not re.search(r"<[^>]+\son\w+=", page)  # no inline event handlers
    assert "http://" not in page and "https://" not in page


def test_only_get_is_answered(client, network):
    assert client.post("/chat/").status_code == 405
