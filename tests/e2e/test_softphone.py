"""The console's softphone in real Chromium at 1366x768, in Chinese, against a real Daphne.

Twilio's Voice SDK is replaced in the page by a stub (tests/e2e/softphone_stub.js, installed
before the vendored SDK, which keeps a Twilio.Device already defined) that records what the
console asks of it and raises the SDK's events; everything else is real: the token the server
issues, the hold and hang-up endpoints, the page's policy.
"""

from pathlib import Path

import jwt
import pytest
from playwright.sync_api import expect

from tests.e2e import servers
from tests.realtime.http import Api

pytestmark = pytest.mark.e2e

STUB = Path(__file__).with_name("softphone_stub.js")
ACCOUNT = "AC" + "5" * 32
KEY = "SK" + "6" * 32
SECRET = "e2e-voice-key-secret-0123456789ab"
DESK_PHONE = "+865722000111"


def _server(tmp_path_factory, artifacts, name: str, **env):
    tmp = tmp_path_factory.mktemp(name)
    environment = servers.server_env(
        servers.fresh_database_url(tmp, f"e2e_{name}"), tmp / "static", **env
    )
    servers.prepare(environment)
    # operator1's profile has a desk phone, where calls ring when the browser cannot take them.
    servers.manage(
        environment,
        "shell",
        "-c",
        "from directory.models import User; "
        f"User.objects.filter(username='operator1').update(desk_phone='{DESK_PHONE}')",
    )
    server = servers.Server(environment, artifacts / f"server-{name}.log")
    server.env = environment
    yield server
    server.stop()


@pytest.fixture(scope="module")
def voice_server(tmp_path_factory, artifacts):
    """Browser calling configured (API key for Voice tokens); no auth token, so the REST side
    of Twilio is not called from this subprocess (its requests are asserted in unit tests)."""
    yield from _server(
        tmp_path_factory,
        artifacts,
        "softphone",
        TWILIO_ACCOUNT_SID=ACCOUNT,
        TWILIO_API_KEY_SID=KEY,
        TWILIO_API_KEY_SECRET=SECRET,
        HOTLINE_VOICE_TOKEN_TTL="600",
    )


@pytest.fixture(scope="module")
def plain_server(tmp_path_factory, artifacts):
    """No Voice API key: the token endpoint answers 409 'not configured'."""
    yield from _server(tmp_path_factory, artifacts, "softphone_plain")


@pytest.fixture
def console(browser):
    """``console(server, username)``: operator's console at 1366x768 in Chinese, the SDK stubbed,
    the microphone allowed; any policy violation fails the test."""
    contexts, violations = [], []

    def open_console(server, username: str, *, stub: bool = True):
        context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
        context.grant_permissions(["microphone"], origin=server.url)
        context.on(
            "console",
            lambda m: "Content Security Policy" in m.text and violations.append(m.text),
        )
        contexts.append(context)
        if stub:
            context.add_init_script(path=str(STUB))
        page = context.new_page()
        page.goto(server.url + "/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", servers.DEMO_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        page.goto(server.url + "/console/")
        page.locator("#live-status[data-state=live]").wait_for()
        return page

    yield open_console
    for context in contexts:
        context.close()
    assert not violations, violations


CALL_SID = "CA" + "7" * 32


def a_phone_call_arrives(server) -> None:
    """A Twilio call queued as the signed incoming-call webhook queues it (the intake service;
    the webhook itself would need an auth token, which would send REST requests to Twilio)."""
    servers.manage(
        server.env,
        "shell",
        "-c",
        "from hotline import services; from hotline.models import CallChannel; "
        "services.receive_call(services.SYSTEM, hotline=services.hotline_for_webhook(), "
        f"call_sid='{CALL_SID}', channel=CallChannel.TWILIO_VOICE, "
        "from_raw='+8613900884321', to_raw='+865722251885')",
    )


def stub_log(page) -> list[str]:
    return page.evaluate("() => window.softphoneStub.log.slice()")


def test_the_softphone_registers_answers_mutes_holds_keys_and_warns(
    console, voice_server, artifacts
):
    Api(voice_server.url, "operator2", servers.DEMO_PASSWORD).call(
        "PUT", "/api/v1/operators/me/presence/", {"status": "offline"}
    )
    me = Api(voice_server.url, "operator1", servers.DEMO_PASSWORD)
    operator_id = me.call("GET", "/api/v1/operators/me/presence/")["operator"]
    a_phone_call_arrives(voice_server)
    page = console(voice_server, "operator1")
    phone = page.locator("#softphone")

    # Registered with the token the server issued for this operator's browser client.
    page.locator("#softphone[data-state=ready]").wait_for()
    assert page.locator("#sp-status").inner_text() == "已就绪：来电在此浏览器振铃"
    token, options = page.evaluate(
        "() => [window.softphoneStub.devices[0].token, window.softphoneStub.devices[0].options]"
    )
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["iss"] == KEY and claims["sub"] == ACCOUNT
    assert claims["grants"]["identity"] == f"operator-{operator_id}"
    assert claims["grants"]["voice"]["incoming"] == {"allow": True}
    assert claims["exp"] - claims["nbf"] == 600
    assert options["edge"] == ["roaming"] and options["codecPreferences"][0] == "opus"
    assert stub_log(page) == ["register"]
    assert page.locator("#sp-mic").is_hidden()  # the microphone is allowed
    assert page.locator("#sp-fallback").is_hidden()

    # The token is renewed before it expires.
    page.evaluate("() => window.softphoneStub.devices[0].emit('tokenWillExpire')")
    page.wait_for_function("() => window.softphoneStub.log.includes('updateToken')")
    fresh = page.evaluate("() => window.softphoneStub.devices[0].token")
    assert jwt.decode(fresh, SECRET, algorithms=["HS256"])["grants"]["identity"] == (
        f"operator-{operator_id}"
    )

    # A leg that rings while no call is in hand (a transfer) waits for Answer.
    page.evaluate("() => window.softphoneStub.ring()")
    page.locator("#softphone[data-state=ringing]").wait_for()
    assert page.locator("#sp-status").inner_text() == "来电振铃中，请接听"
    assert page.locator("#sp-hangup").inner_text() == "拒接"
    page.locator("#sp-answer").click()
    page.locator("#softphone[data-state=in-call]").wait_for()
    page.locator("#sp-hangup").click()
    page.locator("#softphone[data-state=ready]").wait_for()
    assert stub_log(page)[-2:] == ["accept", "disconnect"]

    # The operator accepts the call: the server makes it a conference and dials their browser
    # client into it (the identity in the token), and the browser answers by itself.
    page.locator("#queue li.queue-item button.accept").first.click()
    page.locator("#triage:not([hidden])").wait_for()
    call_id = me.call("GET", "/api/v1/calls/?view=mine&limit=1")["results"][0]["id"]
    state = me.call("GET", f"/api/v1/calls/{call_id}/conference/")["conference"]
    assert state["name"] == f"hotline-call-{call_id}"
    legs = {p["role"]: p for p in state["participants"]}
    assert legs["operator"]["user"] == operator_id
    page.evaluate("() => window.softphoneStub.ring()")
    page.locator("#softphone[data-state=in-call]").wait_for()
    assert page.locator("#sp-status").inner_text() == "通话中"
    assert stub_log(page)[-1] == "accept"
    assert page.locator("#sp-answer").is_hidden()

    # Mute is the SDK's, in the browser.
    page.locator("#sp-mute").click()
    assert page.locator("#sp-mute").inner_text() == "取消静音"
    assert page.locator("#sp-mute").get_attribute("aria-pressed") == "true"
    page.locator("#sp-mute").click()
    assert stub_log(page)[-2:] == ["mute:true", "mute:false"]

    # The keypad sends tones on the call.
    page.locator("#sp-keypad summary").click()
    for key in "12#":
        page.locator(f"#sp-keypad button[data-digit='{key}']").click()
    assert page.evaluate("() => window.softphoneStub.current().digits") == "12#"
    page.locator("#sp-keypad summary").click()

    # Microphone and speaker.
    page.locator("#sp-audio summary").click()
    page.select_option("#sp-input", "mic-usb")
    page.select_option("#sp-output", "spk-usb")
    page.wait_for_function("() => window.softphoneStub.log.includes('speaker:spk-usb')")
    assert "input:mic-usb" in stub_log(page)
    assert page.locator("#sp-input option").all_inner_texts() == ["默认", "USB 耳麦"]
    page.locator("#sp-audio summary").click()

    # Network quality in words, gone when cleared.
    page.evaluate("() => window.softphoneStub.current().emit('warning', 'high-rtt')")
    page.evaluate("() => window.softphoneStub.current().emit('warning', 'low-mos')")
    warnings = page.locator("#sp-warnings li")
    warnings.nth(1).wait_for()
    assert warnings.all_inner_texts() == [
        "网络延迟高：来电者可能听到您的声音有延迟。",
        "通话质量差。",
    ]
    page.screenshot(path=str(artifacts / "softphone-in-call.png"))
    page.evaluate("() => window.softphoneStub.current().emit('warning-cleared', 'high-rtt')")
    page.wait_for_function("() => document.querySelectorAll('#sp-warnings li').length === 1")

    # The softphone is compact: the screen's risk, dispositions and one key stay in view.
    for selector in ("#softphone", "#derived-risk", "#one-key", "#call-person"):
        box = page.locator(selector).bounding_box()
        assert box and box["y"] >= 0 and box["y"] + box["height"] <= 768, selector
    assert phone.bounding_box()["height"] < 110

    # Hold goes to the server (the conference), and back.
    hold = page.locator("#sp-hold")
    with page.expect_response(f"**/api/v1/calls/{call_id}/hold/") as held:
        hold.click()
    assert held.value.request.post_data_json == {"on": True}
    assert held.value.ok, held.value.text()
    page.locator("#softphone[data-state=held]").wait_for()
    assert page.locator("#sp-status").inner_text() == "来电者保持中（正在听等待音乐）"
    assert hold.inner_text() == "恢复通话"
    caller = me.call("GET", f"/api/v1/calls/{call_id}/conference/")["conference"]["participants"][0]
    assert caller["role"] == "caller" and caller["on_hold"] is True
    with page.expect_response(f"**/api/v1/calls/{call_id}/hold/") as resumed:
        hold.click()
    assert resumed.value.request.post_data_json == {"on": False}
    page.locator("#softphone[data-state=in-call]").wait_for()

    # Hang up: the server ends the conference, the browser drops its leg.
    with page.expect_response(f"**/api/v1/calls/{call_id}/hang-up/") as ended:
        page.locator("#sp-hangup").click()
    assert ended.value.ok, ended.value.text()
    page.wait_for_function("() => window.softphoneStub.log.slice(-1)[0] === 'disconnect'")
    page.locator("#softphone[data-state=ready]").wait_for()
    assert page.locator("#sp-warnings li").count() == 0
    assert page.locator("#sp-hold").is_hidden() and page.locator("#sp-hangup").is_hidden()
    assert me.call("GET", f"/api/v1/calls/{call_id}/")["ended_at"]
    # The screen stays open for the triage after the caller is gone.
    assert page.locator("#triage").is_visible()


def test_without_browser_calling_it_says_where_calls_ring_and_lets_the_operator_choose(
    console, plain_server, artifacts
):
    page = console(plain_server, "operator1")
    fallback = page.locator("#sp-fallback")
    fallback.wait_for()
    assert page.locator("#softphone").get_attribute("data-state") == "fallback"
    assert page.locator("#sp-fallback-why").inner_text() == "本系统尚未配置浏览器通话。"
    assert f"可改用您的座机 {DESK_PHONE} 接听：请在下方选择。" in fallback.inner_text()
    assert page.evaluate("() => window.softphoneStub.devices.length") == 0
    assert page.locator("#sp-audio").is_hidden()
    page.screenshot(path=str(artifacts / "softphone-fallback.png"))

    # Choosing the desk phone is saved on the presence, and the line says so.
    with page.expect_response("**/api/v1/operators/me/presence/") as saved:
        page.select_option("#sp-device", "desk_phone")
    assert saved.value.ok
    expect(page.locator("#sp-status")).to_have_text("来电将接到您的座机")
    me = Api(plain_server.url, "operator1", servers.DEMO_PASSWORD)
    assert me.call("GET", "/api/v1/operators/me/presence/")["device"] == "desk_phone"
    assert page.locator("#sp-fallback-why").inner_text() == ""
    assert f"来电将接到您的座机 {DESK_PHONE}。" in fallback.inner_text()


def test_a_blocked_microphone_and_a_failing_device_are_said_in_words(browser, voice_server):
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    context.add_init_script(path=str(STUB))
    # Chromium reports "denied" for a permission the context refuses by default in headless
    # mode only after a prompt; a page-level override says it plainly.
    context.add_init_script(
        script="""navigator.permissions.query = () =>
            Promise.resolve({state: 'denied', onchange: null});"""
    )
    page = context.new_page()
    page.goto(voice_server.url + "/login/")
    page.fill("input[name=username]", "operator1")
    page.fill("input[name=password]", servers.DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    page.goto(voice_server.url + "/console/")
    mic = page.locator("#sp-mic")
    mic.wait_for()
    assert mic.inner_text().startswith("此网站的麦克风权限被禁止")

    # An expired token is renewed; any other device error falls back to the desk phone.
    page.locator("#softphone[data-state=ready]").wait_for()
    page.evaluate("() => window.softphoneStub.devices[0].emit('error', {code: 20104})")
    page.wait_for_function("() => window.softphoneStub.log.includes('updateToken')")
    assert page.locator("#sp-fallback").is_hidden()
    page.evaluate("() => window.softphoneStub.devices[0].emit('error', {code: 31005})")
    page.locator("#softphone[data-state=fallback]").wait_for()
    assert page.locator("#sp-fallback-why").inner_text() == "浏览器电话出错（31005）。"
    assert f"可改用您的座机 {DESK_PHONE} 接听" in page.locator("#sp-fallback").inner_text()
    context.close()
