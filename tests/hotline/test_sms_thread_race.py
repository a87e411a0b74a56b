"""Two first texts from a new number at the same moment, on PostgreSQL: real concurrent
transactions open one conversation, and both messages are in it."""

import pytest

from hotline import services
from hotline.conversation_models import ContactMessage
from hotline.conversations import split_sms
from hotline.models import Call
from hotline.services.conversations import Texts
from tests.hotline.test_accept_race import _race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

HOTLINE_NUMBER = "+865722251885"


def _text(from_raw: str, sid: str, body: str):
    return lambda: services.receive_sms(
        from_raw=from_raw, to_raw=HOTLINE_NUMBER, body=body, message_sid=sid
    )


@pytest.mark.parametrize("round_", range(4))  # a race lost by luck once is found over four
def test_two_first_texts_at_once_open_one_conversation_with_both_messages(network, round_):
    number = f"+86139555{round_:05d}"
    results = _race(
        [
            _text(number, f"SM{round_}{'a' * 31}", "在吗"),
            _text(number, f"SM{round_}{'b' * 31}", "我有点撑不住了"),
        ]
    )
    assert all(isinstance(r, ContactMessage) for r in results), results
    threads = Call.objects.filter(channel="sms", from_number=number)
    assert threads.count() == 1
    thread = threads.get()
    assert {r.call_id for r in results} == {thread.pk}
    bodies = set(thread.messages.filter(direction="in").values_list("body", flat=True))
    assert bodies == {"在吗", "我有点撑不住了"}
    system = list(thread.messages.filter(direction="system").values_list("body", flat=True))
    assert system == split_sms(Texts.SMS_WELCOME)  # welcomed once
    assert thread.case.calls.count() == 1


def test_two_first_texts_from_a_number_that_is_not_a_phone_number_open_one(network):
    """An alphanumeric sender (no E.164 number): the thread is the raw sender's."""
    results = _race(
        [_text("HOTLINE", "SM" + "c" * 32, "一"), _text("HOTLINE", "SM" + "d" * 32, "二")]
    )
    assert all(isinstance(r, ContactMessage) for r in results), results
    thread = Call.objects.get(channel="sms", from_raw="HOTLINE")
    assert sorted(thread.messages.filter(direction="in").values_list("body", flat=True)) == [
        "一",
        "二",
    ]
