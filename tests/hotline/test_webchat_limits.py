"""The visitor socket's per-address limits and its resume token, on their own."""

from django.core import signing

from hotline.webchat import tokens
from hotline.webchat.limits import AddressLimits


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_an_address_gets_its_burst_then_waits_for_the_refill(settings):
    settings.CHAT_IP_RATE, settings.CHAT_IP_BURST = 1.0, 3
    clock = Clock()
    limits = AddressLimits(clock=clock)
    assert [limits.take_frame("10.0.0.1") for _ in range(4)] == [True, True, True, False]
    assert limits.take_frame("10.0.0.2")  # another address has its own bucket
    clock.now += 1
    assert limits.take_frame("10.0.0.1")
    assert not limits.take_frame("10.0.0.1")


def test_sockets_per_address_are_counted_and_released(settings):
    settings.CHAT_IP_SOCKETS = 2
    limits = AddressLimits()
    assert limits.open_socket("a") and limits.open_socket("a")
    assert not limits.open_socket("a")
    limits.close_socket("a")
    assert limits.open_socket("a")


def test_the_remembered_addresses_are_bounded_and_open_sockets_kept(settings):
    limits = AddressLimits(max_addresses=3)
    limits.open_socket("held")
    for i in range(10):
        limits.take_frame(f"spray-{i}")
    assert len(limits.entries) == 3
    assert "held" in limits.entries and limits.entries["held"]["sockets"] == 1


def test_conversations_started_per_address_are_limited(settings):
    settings.CHAT_IP_STARTS_PER_HOUR = 2
    limits = AddressLimits(clock=Clock())
    assert [limits.take_start("a") for _ in range(3)] == [True, True, False]


def test_a_resume_token_names_the_conversation_and_nothing_else_passes(settings):
    token = tokens.issue("CHAT-abc")
    assert tokens.call_sid_of(token) == "CHAT-abc"
    assert tokens.call_sid_of("CHAT-abc") is None
    assert tokens.call_sid_of(token.replace("abc", "abd")) is None
    assert tokens.call_sid_of(None) is None
    assert tokens.call_sid_of("x" * 500) is None
    other_use = signing.TimestampSigner(salt="something.else").sign("CHAT-abc")
    assert tokens.call_sid_of(other_use) is None
