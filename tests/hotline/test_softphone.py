"""The console's softphone, server side: the Voice token it registers with, the page policy that
lets the vendored SDK reach Twilio (on the console only), and the words and fallback it is given."""

import json
import re
from pathlib import Path

import jwt
import pytest
from django.test import Client

from hotline.models import Device
from hotline.services import set_presence
from tests.conftest import sign_in

ROOT = Path(__file__).resolve().parents[2]
SECRET = "s" * 32


@pytest.fixture
def voice_keys(settings):
    settings.TWILIO_ACCOUNT_SID = "AC" + "0" * 32
    settings.TWILIO_API_KEY_SID = "SK" + "1" * 32
    settings.TWILIO_API_KEY_SECRET = SECRET
    settings.TWILIO_TWIML_APP_SID = "AP" + "2" * 32
    settings.HOTLINE_VOICE_TOKEN_TTL = 900


def directives(response) -> dict[str, list[str]]:
    parts = (p.strip() for p in response["Content-Security-Policy"].split(";"))
    return {part.split()[0]: part.split()[1:] for part in parts if part}


def test_it_issues_a_token_for_the_operators_browser_client(client_for, operator, voice_keys):
    answer = client_for(operator).post("/api/v1/operators/me/voice-token/")
    assert answer.status_code == 200
    body = answer.json()
    assert body["identity"] == f"operator-{operator.pk}" and body["ttl"] == 900
    claims = jwt.decode(body["token"], SECRET, algorithms=["HS256"])
    assert jwt.get_unverified_header(body["token"])["cty"] == "twilio-fpa;v=1"
    assert claims["iss"] == "SK" + "1" * 32 and claims["sub"] == "AC" + "0" * 32
    assert claims["grants"]["identity"] == f"operator-{operator.pk}"
    assert claims["grants"]["voice"]["incoming"] == {"allow": True}
    assert claims["grants"]["voice"]["outgoing"]["application_sid"] == "AP" + "2" * 32
    assert claims["exp"] - claims["nbf"] == 900


def test_it_refuses_a_token_to_anyone_but_an_operator(
    client_for, counsellor_a, coordinator, outsider, anonymous_api, voice_keys
):
    for user in (counsellor_a, coordinator, outsider):
        answer = client_for(user).post("/api/v1/operators/me/voice-token/")
        assert answer.status_code == 403, user
    assert anonymous_api.post("/api/v1/operators/me/voice-token/").status_code == 401


def test_it_says_browser_calling_is_not_configured_with_409(client_for, operator, settings):
    settings.TWILIO_API_KEY_SID = ""
    answer = client_for(operator).post("/api/v1/operators/me/voice-token/")
    assert answer.status_code == 409
    assert answer.json()["code"] == "telephony_not_configured"


def test_the_console_alone_lets_the_sdk_reach_twilio(operator, coordinator, settings):
    settings.TWILIO_VOICE_EDGE = "singapore,roaming"
    console = directives(sign_in(Client(), operator).get("/console/"))
    assert console["connect-src"] == [
        "'self'",
        "https://eventgw.twilio.com",
        "https://media.twiliocdn.com",
        "https://sdk.twilio.com",
        "wss://voice-js.singapore.twilio.com",
        "wss://voice-js.roaming.twilio.com",
    ]
    assert console["media-src"] == [
        "mediastream:",
        "https://media.twiliocdn.com",
        "https://sdk.twilio.com",
    ]
    assert console["script-src"] == ["'self'"]  # the SDK is served from this site
    other = directives(sign_in(Client(), coordinator).get("/coordination/"))
    assert other["connect-src"] == ["'self'"] and "media-src" not in other


def test_a_malformed_edge_setting_cannot_widen_the_policy(operator, settings):
    settings.TWILIO_VOICE_EDGE = "evil.example.com *, ;script-src *"
    policy = directives(sign_in(Client(), operator).get("/console/"))
    assert policy["connect-src"][-1] == "wss://voice-js.roaming.twilio.com"
    assert policy["script-src"] == ["'self'"]


def test_the_console_carries_the_softphone_its_words_and_the_fallback(operator, settings):
    operator.desk_phone = "+865722000111"
    operator.sip_address = "op1@pbx.example.org"
    operator.save()
    set_presence(operator, device=Device.DESK_PHONE)
    client = sign_in(Client(), operator)
    client.cookies["django_language"] = "zh-hans"
    html = client.get("/console/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert 'id="softphone"' in html
    assert "vendor/twilio-voice/twilio.min.js" in html and "js/softphone.js" in html
    assert not re.search(r"https?://[^\"']*twilio[^\"']*\.js", html)  # no CDN
    config = json.loads(
        re.search(r'id="softphone-config"[^>]*>(.*?)</script>', html, re.S).group(1)
    )
    assert config["device"] == "desk_phone"
    assert config["desk_phone"] == "+865722000111"
    assert config["sip_address"] == "op1@pbx.example.org"
    assert config["edge"] == ["roaming"]
    words = config["messages"]
    assert words["fallback_desk"] == "来电将接到您的座机 %s。"
    assert words["warnings"]["high-rtt"].startswith("网络延迟高")
    assert words["mic_denied"].startswith("此网站的麦克风权限被禁止")


def test_the_vendored_sdk_is_pinned_with_its_licence():
    vendor = ROOT / "static" / "vendor" / "twilio-voice"
    notice = (vendor / "NOTICE").read_text()
    assert "@twilio/voice-sdk" in notice and "2.18.5" in notice
    assert "Apache License" in (vendor / "LICENSE.md").read_text()
    import hashlib

    digest = hashlib.sha256((vendor / "twilio.min.js").read_bytes()).hexdigest()
    assert digest in notice


def test_the_browser_the_server_dials_is_the_one_the_token_registers(
    network, incoming, twilio, voice_keys, operator, client_for
):
    """Accepting rings ``client:<identity>`` into the conference: the identity of the token the
    softphone registered with, so the browser's Device receives the leg it answers."""
    from hotline.models import Call

    api = client_for(operator)
    identity = api.post("/api/v1/operators/me/voice-token/").json()["identity"]
    incoming("CA" + "5" * 32)
    call = Call.objects.get()
    assert api.post(f"/api/v1/calls/{call.pk}/accept/").status_code == 200
    [participant] = twilio.http.to(r"/Participants\.json$")
    assert participant.data["To"] == f"client:{identity}"
    assert participant.url.endswith(f"/Conferences/hotline-call-{call.pk}/Participants.json")


def test_a_desk_phone_operator_is_dialled_there_and_told_so(
    network, incoming, twilio, operator, client_for
):
    from hotline.models import Call

    operator.desk_phone = "+865722000111"
    operator.save()
    set_presence(operator, device=Device.DESK_PHONE)
    incoming("CA" + "6" * 32)
    call = Call.objects.get()
    assert client_for(operator).post(f"/api/v1/calls/{call.pk}/accept/").status_code == 200
    [participant] = twilio.http.to(r"/Participants\.json$")
    assert participant.data["To"] == "+865722000111"
    html = sign_in(Client(), operator).get("/console/").content.decode()
    config = json.loads(
        re.search(r'id="softphone-config"[^>]*>(.*?)</script>', html, re.S).group(1)
    )
    assert (config["device"], config["desk_phone"]) == ("desk_phone", "+865722000111")
