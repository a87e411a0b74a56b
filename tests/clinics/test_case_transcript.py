"""The receiving counsellor reads a web chat's transcript on the case page (its timeline);
a counsellor of another centre does not."""

import pytest
from django.test import Client

from hotline import services
from hotline.models import CallChannel
from hotline.services import conversations
from referrals import services as referral_services

pytestmark = pytest.mark.django_db


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def chat_case(network, operator):
    call = conversations.open_conversation(
        CallChannel.WEBCHAT, pre_chat={"safe_now": "不，我现在不安全", "in_danger": True}
    )
    conversations.receive_message(call, "<b>我</b>不想活了")
    services.set_presence(operator, status="available")
    call = services.accept_call(operator, call)
    conversations.send_reply(call, operator, "我在这里，你现在在哪里？")
    return call.case


def transcript_html(page) -> str:
    """The case's timeline, where each text conversation is an entry with its transcript."""
    html = page.content.decode()
    start = html.index('id="timeline"')
    return html[start : html.index("</section>", start)]


def test_the_counsellor_a_case_is_referred_to_reads_its_transcript(
    chat_case, operator, counsellor_a, network
):
    referral_services.send_referral(
        operator, chat_case, kind="counselling", receiver=network["centre_a"], consent=True
    )
    page = signed_in(counsellor_a).get(f"/care/cases/{chat_case.pk}/")
    assert page.status_code == 200
    transcript = transcript_html(page)
    assert "&lt;b&gt;我&lt;/b&gt;不想活了" in transcript  # the visitor's text, as text
    assert "我在这里，你现在在哪里？" in transcript
    assert "不，我现在不安全" in transcript


def test_a_counsellor_of_another_centre_does_not(chat_case, counsellor_b):
    assert signed_in(counsellor_b).get(f"/care/cases/{chat_case.pk}/").status_code == 404
