"""Text conversations (SMS, web chat) are contacts like calls: the same queue, offer, accept and
triage; an operator holds up to HOTLINE_MAX_CHATS of them, never beside a voice call."""

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.utils import timezone

from core.errors import Conflict, Forbidden, Invalid
from escalation.sources import housekeeping
from hotline import services
from hotline.conversation_models import ContactMessage
from hotline.conversations import split_sms, visitor_group
from hotline.models import Call, CallStatus, OperatorPresence
from hotline.services import conversations
from realtime.models import ConsoleSession, Event
from tests.hotline.conftest import SCREEN_NONE


@pytest.fixture(autouse=True)
def chat_settings(settings):
    settings.HOTLINE_MAX_CHATS = 2
    settings.CHAT_INACTIVITY_MINUTES = 15


def at_console(*users):
    for user in users:
        ConsoleSession.objects.create(user=user, channel_name=f"test.{user.pk}")
        services.set_presence(user, status="available")


def status(user) -> str:
    return OperatorPresence.objects.get(user=user).status


def chat(**pre_chat):
    return services.open_conversation("webchat", pre_chat=pre_chat or None)


def test_a_web_chat_is_queued_like_a_call_with_its_person_and_case(network):
    call = chat(age_group="15-18", safe_now=False)
    assert call.call_sid.startswith("CHAT-")
    assert call.status == CallStatus.QUEUED
    assert call.case is not None and call.person.is_anonymous
    system = call.messages.get()
    assert system.direction == "system" and "现在安全吗：否" in system.body
    assert Event.objects.filter(type="call.queued", data__call=call.pk).exists()


def test_an_available_operator_is_offered_a_chat_and_accepts_it(network, operator):
    at_console(operator)
    call = chat()
    call.refresh_from_db()
    assert call.status == CallStatus.OFFERED and call.offered_to == operator
    services.accept_call(operator, call)
    call.refresh_from_db()
    assert call.status == CallStatus.IN_PROGRESS
    assert call.connected_via == ""  # no Twilio bridge for text
    assert status(operator) == "on_call"


def test_an_operator_holds_two_chats_but_not_three_nor_a_voice_call(network, operator):
    at_console(operator)
    first, second, third = chat(), chat(), chat()
    services.accept_call(operator, first)
    second.refresh_from_db()
    # Holding one chat: offered the next chat.
    assert second.status == CallStatus.OFFERED and second.offered_to == operator
    services.accept_call(operator, second)
    third.refresh_from_db()
    assert third.status == CallStatus.QUEUED  # two held: nothing more is offered
    with pytest.raises(Conflict) as exc:
        services.accept_call(operator, third)
    assert exc.value.code == "too_many_chats"
    voice = services.enter_manual_call(operator, channel="walk_in")
    with pytest.raises(Conflict) as exc:
        services.accept_call(operator, voice)
    assert exc.value.code == "operator_busy"


def test_a_voice_call_is_never_offered_to_an_operator_holding_a_chat(network, operator):
    at_console(operator)
    held = chat()
    services.accept_call(operator, held)
    voice = services.enter_manual_call(operator, channel="walk_in")
    voice.refresh_from_db()
    assert voice.status == CallStatus.QUEUED and voice.offered_to is None


def test_an_operator_on_a_voice_call_is_offered_no_chat(network, operator):
    at_console(operator)
    voice = services.enter_manual_call(operator, channel="walk_in")
    services.accept_call(operator, voice)
    call = chat()
    call.refresh_from_db()
    assert call.status == CallStatus.QUEUED
    with pytest.raises(Conflict):
        services.accept_call(operator, call)


def test_triage_of_one_chat_leaves_the_operator_on_the_other(network, operator):
    at_console(operator)
    first, second = chat(), chat()
    services.accept_call(operator, first)
    services.accept_call(operator, second)
    services.triage_call(operator, first, screen=SCREEN_NONE, disposition="resolved")
    assert status(operator) == "on_call"
    services.wrap_up_call(operator, first)
    assert status(operator) == "on_call"
    services.triage_call(operator, second, screen=SCREEN_NONE, disposition="resolved")
    assert status(operator) == "wrap_up"
    services.wrap_up_call(operator, second)
    assert status(operator) == "available"


def test_messages_and_replies_make_the_transcript(network, operator, operator2):
    at_console(operator)
    call = chat()
    services.accept_call(operator, call)
    services.receive_message(call, "我最近很难受")
    reply = services.send_reply(call, operator, "我在这里，愿意和我说说吗？")
    assert reply.direction == "out" and reply.author == operator
    assert [m.direction for m in conversations.transcript(call)] == ["in", "out"]
    with pytest.raises(Forbidden):
        services.send_reply(call, operator2, "hi")
    with pytest.raises(Invalid):
        services.send_reply(call, operator, " ")
    event = Event.objects.filter(type="conversation.message").last()
    assert "body" not in event.data and event.data["call"] == call.pk


def test_too_long_a_message_is_refused(network, settings):
    settings.CHAT_MESSAGE_MAX_CHARS = 10
    call = chat()
    with pytest.raises(Invalid):
        services.receive_message(call, "字" * 11)
    assert not call.messages.filter(direction="in").exists()


def test_inactivity_ends_an_answered_conversation_both_sides(network, operator):
    at_console(operator)
    call = chat()
    services.accept_call(operator, call)
    services.receive_message(call, "在吗")
    past = timezone.now() - timedelta(minutes=16)
    Call.objects.filter(pk=call.pk).update(answered_at=past)
    ContactMessage.objects.filter(call=call).update(created_at=past)
    housekeeping(timezone.now())
    call.refresh_from_db()
    assert call.ended_at is not None and call.status == CallStatus.IN_PROGRESS
    assert call.messages.last().direction == "system"
    assert Event.objects.filter(type="call.ended", data__reason="inactivity").exists()
    with pytest.raises(Conflict):
        services.receive_message(call, "还在吗")
    # Still the operator's to triage.
    services.triage_call(operator, call, screen=SCREEN_NONE, disposition="resolved")


def test_a_waiting_chat_is_not_ended_for_silence(network):
    call = chat()
    Call.objects.filter(pk=call.pk).update(queued_at=timezone.now() - timedelta(hours=1))
    housekeeping(timezone.now())
    call.refresh_from_db()
    assert call.ended_at is None


def test_a_visitor_leaving_while_waiting_abandons_the_chat(network, operator):
    call = chat()
    services.end_conversation(call, reason="visitor_left")
    call.refresh_from_db()
    assert call.status == CallStatus.ABANDONED
    assert not call.case.callback_tasks.exists()


def test_split_keeps_chinese_whole_and_never_cuts_an_emoji():
    text = "你" * 150
    parts = split_sms(text, 70)
    assert [len(p) for p in parts] == [70, 70, 10] and "".join(parts) == text
    emoji = "好" * 69 + "😀" + "好"
    parts = split_sms(emoji, 70)
    assert parts[0] == "好" * 69 and parts[1] == "😀好"
    sentence = "我明白你的感受。" * 12
    assert all(p.endswith("。") for p in split_sms(sentence, 70))


def test_a_message_reaches_only_the_operator_offered_or_holding_the_conversation(
    network, operator, operator2
):
    waiting = chat()
    services.receive_message(waiting, "有人吗")
    event = Event.objects.filter(type="conversation.message").last()
    assert list(event.audience_rows.values_list("audience", flat=True)) == []
    at_console(operator)
    waiting.refresh_from_db()
    assert waiting.offered_to == operator
    services.receive_message(waiting, "我等了很久")
    event = Event.objects.filter(type="conversation.message").last()
    assert list(event.audience_rows.values_list("audience", flat=True)) == [f"user:{operator.pk}"]
    services.accept_call(operator, waiting)
    at_console(operator2)
    services.receive_message(waiting, "谢谢你")
    event = Event.objects.filter(type="conversation.message").last()
    assert list(event.audience_rows.values_list("audience", flat=True)) == [f"user:{operator.pk}"]


def test_a_waiting_visitor_is_told_their_place_only_when_it_changes(
    network, operator, django_capture_on_commit_callbacks
):
    first, second = chat(), chat()
    conversations._places_told.clear()

    def tell() -> int:
        with django_capture_on_commit_callbacks(execute=True):
            return conversations.tell_queue_places()

    # One event loop and one receive throughout: the Redis layer's channels live in the loop
    # that made them, and a cancelled receive gives its channel up.
    async def visitor_hears():
        layer = get_channel_layer()
        probe = await layer.new_channel()
        await layer.group_add(visitor_group(second), probe)
        frames = []

        async def collect():
            while True:
                frames.append(await layer.receive(probe))

        async def told() -> list[dict]:
            await asyncio.sleep(0.5)
            heard = list(frames)
            frames.clear()
            return heard

        collector = asyncio.ensure_future(collect())
        try:
            assert await sync_to_async(tell)() == 2
            [frame] = await told()
            assert frame["type"] == "chat.queue" and frame["position"] == 2
            assert await sync_to_async(tell)() == 0
            assert await told() == []
            await sync_to_async(services.accept_call)(operator, first)
            assert await sync_to_async(tell)() == 1
            [frame] = await told()
            assert frame["position"] == 1 and frame["expected_wait_seconds"] > 0
        finally:
            collector.cancel()

    async_to_sync(visitor_hears)()
