"""The live console in real Chromium: events appear without reload and survive a lost socket."""

import pytest

from tests.e2e import servers
from tests.realtime.http import Api


@pytest.fixture(scope="module")
def daphne_server(tmp_path_factory, artifacts):
    """A server of this module's own: these tests open cases, which others count."""
    yield from servers.serve(
        tmp_path_factory,
        artifacts,
        "e2e_live",
    )


def queue_items(page):
    return page.locator("#queue li.queue-item")


def test_the_operator_console_updates_live_and_replays_what_it_missed(
    new_page, daphne_server, artifacts
):
    page = new_page("operator1")
    assert page.url == daphne_server.url + "/console/"
    status = page.locator("#live-status")
    status.and_(page.locator("[data-state=live]")).wait_for()
    assert status.inner_text() == "实时"
    before = queue_items(page).count()
    colleague = Api(daphne_server.url, "operator2", servers.DEMO_PASSWORD)

    first = colleague.enter_call("13900000101")
    page.locator(f"#queue li[data-call='{first['id']}']").wait_for()
    assert page.locator("#live-feed li[data-type='call.queued']").count() == 1
    assert page.evaluate("Live.cues") >= 1  # the sound and visual cue for a new call
    assert page.evaluate("sessionStorage.getItem('live.last_event_id')") is not None

    # Cut the network and the socket: the shell shows it is reconnecting while calls arrive.
    page.context.set_offline(True)
    page.evaluate("Live.drop()")
    status.and_(page.locator("[data-state=reconnecting]")).wait_for()
    assert status.inner_text() == "重新连接中…"
    missed = [colleague.enter_call(f"1390000010{i}") for i in (2, 3)]
    page.wait_for_timeout(1500)
    assert status.get_attribute("data-state") == "reconnecting"
    assert queue_items(page).count() == before + 1
    page.screenshot(path=artifacts / "live-console-reconnecting.png", full_page=True)

    page.context.set_offline(False)
    status.and_(page.locator("[data-state=live]")).wait_for(timeout=20000)
    page.wait_for_function(
        "n => document.querySelectorAll('#queue li.queue-item').length === n", arg=before + 3
    )
    queued = page.eval_on_selector_all(
        "#live-feed li[data-type='call.queued']", "items => items.map(li => li.dataset.eventId)"
    )
    assert len(queued) == len(set(queued)) == 3  # each once, not twice
    assert page.locator("#live-feed li.replayed[data-type='call.queued']").count() == 2
    for call in [first, *missed]:
        assert page.locator(f"#queue li[data-call='{call['id']}']").count() == 1
    page.screenshot(path=artifacts / "live-console.png", full_page=True)


def feed_text(page) -> str:
    return page.locator("#live-feed").inner_text()


def test_each_landing_page_receives_only_the_events_of_its_own_organisation(
    new_page, daphne_server
):
    pages = {
        "operator1": "/console/",
        "counsellor1": "/care/counselling/",
        "leader1": "/dashboard/",
    }
    opened = {}
    for username, path in pages.items():
        page = new_page(username)
        page.goto(daphne_server.url + path)
        page.locator("#live-status[data-state=live]").wait_for()
        opened[username] = page

    hotline_case = Api(daphne_server.url, "operator2", servers.DEMO_PASSWORD).open_case("热线的")
    centre_case = Api(daphne_server.url, "counsellor2", servers.DEMO_PASSWORD).open_case("中心的")
    for username, mine, other in [
        ("operator1", hotline_case, centre_case),
        ("counsellor1", centre_case, hotline_case),
    ]:
        page = opened[username]
        page.locator("#live-feed li[data-type='case.opened']").first.wait_for()
        page.wait_for_timeout(500)
        assert f"#{mine['id']}" in feed_text(page), username
        assert f"#{other['id']}" not in feed_text(page), username
    # Decision makers read counts, not cases: nothing of either case reaches their page.
    leader = opened["leader1"]
    assert leader.locator("#live-feed li[data-event-id]").count() == 0
