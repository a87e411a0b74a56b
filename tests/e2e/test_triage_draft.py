"""The risk screen respects the person typing, in real Chromium at 1366x768 in Chinese: half
the screen answered, the page reloaded, every answer back; a missing answer named beside its
item, in words, marked and in view; the console's keys (A accept, W wrap-up) do not fire while
typing in a field."""

import re

import pytest

from tests.e2e import servers

IN_VIEW = """(el) => {
  const r = el.getBoundingClientRect();
  return r.width > 0 && r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight;
}"""


@pytest.fixture(scope="module")
def daphne_server(tmp_path_factory, artifacts):
    yield from servers.serve(
        tmp_path_factory, artifacts, "e2e_triage_draft", TWILIO_AUTH_TOKEN=servers.TWILIO_TOKEN
    )


def _answer(page, item, yes):
    page.locator(f"#triage [data-item={item}] input[value={'yes' if yes else 'no'}]").check()


def _wait_saved(page):
    page.locator("#draft-status[data-state=saved]").wait_for()
    assert re.fullmatch(r"草稿已保存 \d\d:\d\d", page.locator("#draft-status").inner_text())


def test_a_reload_mid_screen_keeps_every_answer_and_errors_stand_beside_the_item(
    new_page, daphne_server, artifacts
):
    page = new_page("operator1")
    page.locator("#live-status[data-state=live]").wait_for()
    page.select_option("#presence", "available")
    page.locator("#presence-now").filter(has_text="空闲").wait_for()
    assert "快捷键" in page.locator("#key-legend").inner_text()

    servers.incoming_call(daphne_server, "CA" + "draft1".rjust(32, "0"), "+8613912340077")
    page.locator("#queue li.offered-to-me").wait_for()
    page.locator("body").press("a")  # the accept key, focus on no field
    page.locator("#triage:not([hidden])").wait_for()

    # Half the screen: two items, a follow-up, a protective factor, notes, a phone, the risk.
    _answer(page, "wish_to_be_dead", True)
    _answer(page, "active_thoughts", True)
    page.locator("#triage [data-item=method_thoughts]:not([hidden])").wait_for()
    _answer(page, "method_thoughts", False)
    page.locator("#triage input[name=protective_factors][value=family_support]").check()
    notes = page.locator("#triage textarea[name=notes]")
    notes.fill("说最近睡不好")
    notes.press("a")  # a letter typed into the notes, not the accept key
    notes.press("w")  # nor the wrap-up key
    page.locator("#triage input[name=contact_phone]").fill("13912340077")
    page.locator("#triage input[name=consent]").uncheck()
    page.locator("#triage input[name=consent_override_reason]").fill("未成年人，监护人需知情")
    _wait_saved(page)

    page.reload()
    page.locator("#triage:not([hidden])").wait_for()
    _wait_saved(page)
    screen = page.locator("#triage")
    assert screen.locator("[data-item=wish_to_be_dead] input[value=yes]").is_checked()
    assert screen.locator("[data-item=active_thoughts] input[value=yes]").is_checked()
    assert screen.locator("[data-item=method_thoughts]").is_visible()
    assert screen.locator("[data-item=method_thoughts] input[value=no]").is_checked()
    assert not screen.locator("[data-item=intent] input:checked").count()
    assert screen.locator("input[name=protective_factors][value=family_support]").is_checked()
    assert not screen.locator("input[name=protective_factors][value=no_means]").is_checked()
    assert screen.locator("textarea[name=notes]").input_value() == "说最近睡不好aw"
    assert screen.locator("input[name=contact_phone]").input_value() == "13912340077"
    assert not screen.locator("input[name=consent]").is_checked()
    assert screen.locator("input[name=consent_override_reason]").is_visible()
    assert (
        screen.locator("input[name=consent_override_reason]").input_value()
        == "未成年人，监护人需知情"
    )
    page.screenshot(path=str(artifacts / "triage-draft-restored.png"))

    # Submit with answers missing: each missing item is marked with its words beside it.
    page.locator("#triage button[value=refer]").click()
    intent = screen.locator("[data-item=intent]")
    page.locator("#triage [data-item=intent].invalid").wait_for()
    note = intent.locator("xpath=following-sibling::*[1]")
    assert "field-error" in note.get_attribute("class")
    assert "意图" in note.inner_text() or "打算" in note.inner_text(), note.inner_text()
    assert "此项必填" in note.inner_text()
    assert intent.locator("input").first.get_attribute("aria-invalid") == "true"
    for item in ("plan", "behaviour_3_months", "behaviour_ever", "harm_to_others", "in_danger_now"):
        assert screen.locator(f"[data-item={item}].invalid").count() == 1, item
    assert screen.locator("[data-item=wish_to_be_dead].invalid").count() == 0
    summary = page.locator("#triage-error").inner_text()
    assert summary == "有 6 项未答或需修改，请看标红的项目。", summary
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", summary), summary
    first_invalid = screen.locator(".invalid").first
    assert first_invalid.evaluate(IN_VIEW)
    page.screenshot(path=str(artifacts / "triage-draft-errors.png"))

    # Answering an item clears its error; the rest, then the triage, and the draft is gone.
    _answer(page, "intent", False)
    assert intent.get_attribute("class").split().count("invalid") == 0
    for item in ("plan", "behaviour_3_months", "behaviour_ever", "harm_to_others", "in_danger_now"):
        _answer(page, item, False)
    page.locator("#triage button[value=refer]").click()
    page.locator("#triaged:not([hidden])").wait_for()
    assert page.locator("#draft-status").inner_text() == ""
    call_id = page.evaluate(
        "() => fetch('/api/v1/calls/?view=mine', {headers: {Accept: 'application/json'}})"
        ".then(r => r.json()).then(d => (d.results || d)[0].id)"
    )
    draft = page.evaluate(
        "(id) => fetch(`/api/v1/calls/${id}/triage-draft/`,"
        " {headers: {Accept: 'application/json'}}).then(r => r.json())",
        call_id,
    )
    assert draft == {"answers": {}, "saved_at": None}

    page.locator("body").press("w")  # the wrap-up key
    page.locator("#no-call:not([hidden])").wait_for()


def test_answers_given_while_the_connection_is_lost_are_saved_when_it_is_back(
    new_page, daphne_server
):
    page = new_page("operator2")
    page.locator("#live-status[data-state=live]").wait_for()
    page.select_option("#presence", "available")
    page.locator("#presence-now").filter(has_text="空闲").wait_for()
    servers.incoming_call(daphne_server, "CA" + "draft2".rjust(32, "0"), "+8613912340078")
    page.locator("#queue li.offered-to-me").wait_for()
    page.locator("#accept-next").click()
    page.locator("#triage:not([hidden])").wait_for()
    _answer(page, "wish_to_be_dead", False)
    _wait_saved(page)

    page.context.set_offline(True)
    _answer(page, "harm_to_others", True)
    page.locator("#draft-status[data-state=unsaved]").wait_for()
    assert "草稿未保存" in page.locator("#draft-status").inner_text()
    page.context.set_offline(False)
    _wait_saved(page)

    page.reload()
    page.locator("#triage:not([hidden])").wait_for()
    _wait_saved(page)
    assert page.locator("#triage [data-item=harm_to_others] input[value=yes]").is_checked()
    assert page.locator("#triage [data-item=wish_to_be_dead] input[value=no]").is_checked()
