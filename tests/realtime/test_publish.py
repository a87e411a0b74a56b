"""The event log: written with the change, broadcast only after commit, replayed by audience."""

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async as sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction

from realtime import audiences as aud
from realtime.models import Event
from realtime.publish import publish
from realtime.selectors import events_visible_to


async def _listen(*audiences):
    layer = get_channel_layer()
    channel = await layer.new_channel()
    for a in audiences:
        await layer.group_add(aud.group_name(a), channel)
    return layer, channel


async def _receive(layer, channel, timeout=2.0):
    return await asyncio.wait_for(layer.receive(channel), timeout)


async def _nothing_arrives(layer, channel):
    with pytest.raises(TimeoutError):
        await _receive(layer, channel, timeout=0.3)


# The listener and the publisher share one event loop, as a consumer and a service do in Daphne
# (the Redis pub/sub layer keeps one connection per loop).
@pytest.mark.django_db(transaction=True)
async def test_it_broadcasts_after_commit_and_not_before(network):
    org = aud.org(network["hotline"].pk)
    layer, channel = await _listen(org)
    # A second listener only for peeking: a timed-out receive unsubscribes its channel.
    _, peek_channel = await _listen(org)
    seen_before_commit = []

    @sync_to_async
    def change():
        with transaction.atomic():
            event = publish("test.happened", data={"n": 1}, audiences=[org])
            seen_before_commit.append(async_to_sync(_peek)(layer, peek_channel))
        return event

    event = await change()
    assert seen_before_commit == [None]
    message = await _receive(layer, channel)
    assert message == {
        "type": "console.event",
        "event": {
            "id": event.id,
            "type": "test.happened",
            "at": event.at.isoformat(),
            "case": None,
            "data": {"n": 1},
        },
    }


async def _peek(layer, channel):
    try:
        return await asyncio.wait_for(layer.receive(channel), 0.3)
    except TimeoutError:
        return None


@pytest.mark.django_db(transaction=True)
async def test_a_rolled_back_change_leaves_no_event_and_no_broadcast(network):
    org = aud.org(network["hotline"].pk)
    layer, channel = await _listen(org)

    @sync_to_async
    def failing_change():
        with transaction.atomic():
            publish("test.happened", audiences=[org])
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        await failing_change()
    assert not await sync_to_async(Event.objects.exists)()
    await _nothing_arrives(layer, channel)


@pytest.mark.django_db(transaction=True)
def test_a_lost_broadcast_is_logged_and_loses_nothing(network, operator, monkeypatch, caplog):
    class BrokenLayer:
        async def group_send(self, group, message):
            raise ConnectionError("redis is down")

    monkeypatch.setattr("realtime.publish.get_channel_layer", lambda: BrokenLayer())
    event = publish("test.happened", audiences=[aud.org(network["hotline"].pk)])
    assert "broadcast failed; replay will deliver the events" in caplog.text
    assert [e.id for e in events_visible_to(operator)] == [event.id]


@pytest.mark.django_db(transaction=True)
async def test_several_events_of_one_transaction_arrive_in_order_after_the_commit(network):
    org = aud.org(network["hotline"].pk)
    layer, channel = await _listen(org)

    @sync_to_async
    def change():
        with transaction.atomic():
            return [publish("test.step", data={"n": n}, audiences=[org]) for n in range(3)]

    events = await change()
    received = [(await _receive(layer, channel))["event"]["id"] for _ in events]
    assert received == [e.id for e in events]


def test_case_events_reach_every_organisation_that_holds_the_case(
    network, operator, counsellor_a, counsellor_b, hotline_case
):
    from hotline import services

    services.grant_access(hotline_case, network["centre_a"], reason="referral", granted_by=operator)
    event = publish("case.next_step_set", case=hotline_case)
    assert set(event.audience_rows.values_list("audience", flat=True)) == aud.case_file(
        [network["hotline"].pk, network["centre_a"].pk]
    )
    assert aud.org_role(network["centre_a"].pk, "counsellor") in aud.case_file(
        [network["centre_a"].pk]
    )
    assert event.id in [e.id for e in events_visible_to(counsellor_a)]
    assert event.id not in [e.id for e in events_visible_to(counsellor_b)]


def test_replay_is_in_order_after_the_given_id_and_only_what_the_user_may_see(
    network, operator, counsellor_b, administrator
):
    mine = [publish("t", audiences=[aud.user(operator.pk)]) for _ in range(3)]
    publish("t", audiences=[aud.org(network["centre_b"].pk)])
    audit = publish("t", audiences=[aud.AUDIT], broadcast=False)
    assert [e.id for e in events_visible_to(operator, after_id=mine[0].id)] == [
        mine[1].id,
        mine[2].id,
    ]
    assert all(e.id not in {m.id for m in mine} for e in events_visible_to(counsellor_b))
    seen_by_admin = [e.id for e in events_visible_to(administrator)]
    assert mine[0].id in seen_by_admin and audit.id not in seen_by_admin


def test_events_are_append_only(db):
    event = publish("t")
    event.data = {"changed": True}
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    with pytest.raises(ValueError, match="append-only"):
        event.delete()


def test_group_names_are_valid_for_the_channel_layer():
    assert aud.group_name("orgrole:12:counsellor") == "aud.orgrole.12.counsellor"
