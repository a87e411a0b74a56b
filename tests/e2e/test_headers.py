"""Headers in a real browser: the policy holds (an injected inline script does not run), the
pages work without inline script, and the API docs serve Swagger UI from this site to members."""

from tests.e2e import servers


def test_the_policy_blocks_inline_script_and_the_console_reports_it(browser, daphne_server):
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    messages = []
    context.on("console", lambda m: messages.append(m.text))
    page = context.new_page()
    response = page.goto(daphne_server.url + "/login/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert "no-store" in response.headers["cache-control"]
    page.evaluate(
        """() => { const s = document.createElement("script");
                   s.textContent = "window.injected = 1"; document.body.append(s); }"""
    )
    page.wait_for_timeout(200)
    assert page.evaluate("() => window.injected") is None
    assert any("Content Security Policy" in m for m in messages), messages
    static = context.request.get(daphne_server.url + "/static/js/page.js")
    assert static.ok and "no-store" not in static.headers.get("cache-control", "")
    context.close()


def test_the_language_switch_works_without_inline_handlers(new_page, daphne_server, artifacts):
    page = new_page("counsellor1")
    page.goto(daphne_server.url + "/care/counselling/")
    assert page.locator("h1").inner_text() == "咨询转介收件箱"
    page.select_option("select[name=language]", "en")
    page.wait_for_load_state()
    page.locator("h1", has_text="Counselling").wait_for()
    page.select_option("select[name=language]", "zh-hans")
    page.locator("h1", has_text="咨询转介收件箱").wait_for()
    page.screenshot(path=str(artifacts / "headers-counselling.png"))


def test_the_api_docs_are_for_members_and_load_from_this_site(new_page, daphne_server, artifacts):
    anonymous = new_page()
    anonymous.goto(daphne_server.url + "/api/docs/")
    assert "/login/" in anonymous.url
    page = new_page("coordinator1")
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(daphne_server.url + "/api/docs/")
    page.locator(".swagger-ui .info .title").wait_for()
    page.screenshot(path=str(artifacts / "headers-api-docs.png"))
    page.locator(".opblock-summary-path", has_text="/api/v1/people/search/").first.wait_for()
    assert all(url.startswith(daphne_server.url) or url.startswith("data:") for url in requests), [
        u for u in requests if not u.startswith(daphne_server.url)
    ]
    assert servers.DEMO_PASSWORD  # the demo network signs in with the e2e password
