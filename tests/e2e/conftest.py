"""Browser tests: Debian's Chromium driven by Playwright (sync API) against a real Daphne."""

import shutil
from pathlib import Path

import pytest

from tests.conftest import _missing
from tests.e2e import servers

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.path):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def daphne_server(tmp_path_factory, artifacts):
    """One seeded demo network served by Daphne for the whole browser session."""
    yield from servers.serve(tmp_path_factory, artifacts, "e2e")


@pytest.fixture(scope="module")
def own_daphne_server(request, tmp_path_factory, artifacts):
    """A demo network of the module's own, for a module that changes accounts for good (turns
    two-step verification on, locks a name out): a module overrides ``daphne_server`` with it."""
    yield from servers.serve(
        tmp_path_factory, artifacts, request.module.__name__.rsplit(".", 1)[-1]
    )


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        _missing("Chromium (/usr/bin/chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser, daphne_server):
    """``new_page(username)``: a fresh browser context at 1366x768, logged in as that demo user.

    Any Content-Security-Policy violation Chromium reports on its console fails the test.
    """
    contexts = []
    violations = []

    def watch(message):
        if "Content Security Policy" in message.text:
            violations.append(f"{message.page.url if message.page else ''}: {message.text}")

    def make(username: str | None = None, locale: str = "zh-CN"):
        context = browser.new_context(viewport={"width": 1366, "height": 768}, locale=locale)
        context.on("console", watch)
        contexts.append(context)
        page = context.new_page()
        if username:
            page.goto(daphne_server.url + "/login/")
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", servers.DEMO_PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_load_state()
        return page

    yield make
    for context in contexts:
        context.close()
    assert not violations, "Content-Security-Policy violations:\n" + "\n".join(violations)
