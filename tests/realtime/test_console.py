"""The console WebSocket: who may connect, what they receive, in which order, and only once."""

import json

import pytest
from channels.db import database_sync_to_async as db
from channels.layers import get_channel_layer

from realtime import audiences as aud
from realtime.consumers import TokenBucket
from realtime.publish import publish

pytestmark = pytest.mark.django_db(transaction=True)


def ev(type_="test.happened", **kwargs):
    return db(publish)(type_, **kwargs)


async def test_an_anonymous_console_is_refused(console, network):
    async with console(None) as c:
        assert c is None


async def test_a_wrong_origin_is_refused_even_with_a_valid_token(console, operator):
    async with console(operator, origin=b"http://evil.example") as c:
        assert c is None


async def test_it_signs_in_by_session_cookie(console, network, operator):
    async with console(operator, auth="session") as c:
        assert c.hello["type"] == "hello"
        assert c.hello["user"] == operator.pk


async def test_it_signs_in_by_token_and_joins_the_users_audiences(console, network, operator):
    hotline = network["hotline"].pk
    async with console(operator) as c:
        assert set(c.hello["audiences"]) == {
            aud.user(operator.pk),
            aud.org(hotline),
            aud.org_role(hotline, "operator"),
        }
        event = await ev(audiences=[aud.org_role(hotline, "operator")])
        frame = await c.frame()
        assert frame == event.as_message()


async def test_a_client_without_an_origin_is_not_a_browser_and_may_use_its_token(console, operator):
    async with console(operator, origin=None) as c:
        assert c.hello["user"] == operator.pk


async def test_an_unknown_token_is_refused(console, network):
    from config.asgi import application  # noqa: F401 - the stack under test
    from tests.realtime.conftest import communicator

    ws = communicator("/ws/console/", [(b"authorization", b"Token nope")])
    connected, _ = await ws.connect(timeout=10)
    await ws.disconnect()
    assert not connected


async def test_it_replays_in_order_after_the_given_id_then_streams_live(console, operator):
    mine = [await ev(f"test.n{i}", audiences=[aud.user(operator.pk)]) for i in range(4)]
    async with console(operator, last_event_id=mine[0].id) as c:
        assert c.hello["last_event_id"] == mine[0].id
        frames = await c.frames_until("replayed")
        assert [f["id"] for f in frames[:-1]] == [e.id for e in mine[1:]]
        assert [f["type"] for f in frames[:-1]] == ["test.n1", "test.n2", "test.n3"]
        assert frames[-1]["count"] == 3 and frames[-1]["last_event_id"] == mine[-1].id
        live = await ev(audiences=[aud.user(operator.pk)])
        assert (await c.frame())["id"] == live.id


async def test_without_a_cursor_it_starts_from_now(console, operator):
    old = await ev(audiences=[aud.user(operator.pk)])
    async with console(operator) as c:
        assert c.hello["last_event_id"] == old.id
        assert await c.silent()


async def test_nothing_a_user_may_not_see_is_ever_sent(
    console, network, operator, counsellor_a, counsellor_b, hotline_case
):
    from hotline import services

    hidden = [
        aud.org(network["centre_a"].pk),
        aud.org(network["hotline"].pk),
        aud.org_role(network["centre_a"].pk, "counsellor"),
        aud.user(counsellor_a.pk),
        aud.AUDIT,
    ]
    before = await ev(audiences=hidden[:1])
    async with console(counsellor_b, last_event_id=before.id - 1) as c:
        # Replay skips the event for centre A.
        assert (await c.frames_until("replayed"))[-1]["count"] == 0
        for audience in hidden:
            await ev(audiences=[audience])
        await ev("case.next_step_set", case=hotline_case)  # the hotline's case only
        # Straight to a group the user is not in: the layer never routes it here.
        await get_channel_layer().group_send(
            aud.group_name(aud.org(network["centre_a"].pk)),
            {"type": "console.event", "event": {"id": 10**6, "type": "x"}},
        )
        assert await c.silent()
        # A referral grant opens the case to centre B: from then on its events arrive.
        await db(services.grant_access)(
            hotline_case, network["centre_b"], reason="referral", granted_by=operator
        )
        granted = await c.frame()
        assert granted["type"] == "case.access_granted"
        assert granted["case"] == hotline_case.pk
        note = await ev("case.next_step_set", case=hotline_case)
        assert (await c.frame())["id"] == note.id
        assert await c.silent()


async def test_a_user_in_several_audiences_receives_an_event_once(console, network, operator):
    hotline = network["hotline"].pk
    async with console(operator) as c:
        everywhere = await ev(
            audiences=[aud.user(operator.pk), aud.org(hotline), aud.org_role(hotline, "operator")]
        )
        sentinel = await ev(audiences=[aud.user(operator.pk)])
        assert (await c.frame())["id"] == everywhere.id
        assert (await c.frame())["id"] == sentinel.id
        assert await c.silent()


async def test_a_live_event_is_sent_as_compact_json_with_chinese_as_is(console, network, operator):
    async with console(operator) as c:
        event = await ev(audiences=[aud.user(operator.pk)], data={"名": "张三"})
        raw = await c.ws.receive_from(2)
        assert raw == json.dumps(event.as_message(), separators=(",", ":"), ensure_ascii=False)


async def test_a_live_copy_of_a_replayed_event_is_dropped(console, network, operator):
    # What happens when an event commits between joining the groups and reading the table.
    event = await ev(audiences=[aud.user(operator.pk)])
    async with console(operator, last_event_id=event.id - 1) as c:
        await c.frames_until("replayed")
        await get_channel_layer().group_send(
            aud.group_name(aud.user(operator.pk)),
            {"type": "console.event", "event": event.as_message()},
        )
        assert await c.silent()


async def test_administrators_see_every_broadcast_but_not_the_audit_trail(
    console, network, administrator, counsellor_b
):
    async with console(administrator) as c:
        assert aud.EVERYONE in c.hello["audiences"]
        await ev(audiences=[aud.AUDIT], broadcast=False)
        other = await ev(audiences=[aud.org(network["centre_b"].pk)])
        assert (await c.frame())["id"] == other.id
        assert await c.silent()


async def test_malformed_and_unknown_messages_get_an_error_and_the_socket_stays_open(
    console, operator
):
    async with console(operator) as c:
        for bad, code in [
            ("not json", "malformed"),
            ("[1, 2]", "malformed"),
            ({"no": "type"}, "malformed"),
            (b"\x00binary", "malformed"),
            ("x" * 5000, "malformed"),
            ("[" * 2000 + "]" * 2000, "malformed"),  # deeper than the JSON parser goes
            ({"type": "dance"}, "unknown_type"),
            ({"type": "ack", "id": "7"}, "malformed"),
            ({"type": "ack", "id": 10**9}, "bad_ack"),
        ]:
            await c.send(bad)
            frame = await c.frame()
            assert (frame["type"], frame["code"]) == ("error", code), bad
        await c.send({"type": "ping"})
        assert (await c.frame())["type"] == "pong"


async def test_an_ack_confirms_what_was_sent(console, operator):
    async with console(operator) as c:
        event = await ev(audiences=[aud.user(operator.pk)])
        await c.frame()
        await c.send({"type": "ack", "id": event.id})
        assert await c.frame() == {"type": "ack", "last_event_id": event.id, "acked": event.id}


async def test_a_flood_is_rate_limited_then_closed(console, operator, settings):
    settings.REALTIME_CLIENT_RATE = 0.01
    settings.REALTIME_CLIENT_BURST = 3
    settings.REALTIME_CLIENT_ABUSE_LIMIT = 4
    async with console(operator) as c:
        for _ in range(3):
            await c.send({"type": "ping"})
            assert (await c.frame())["type"] == "pong"
        await c.send({"type": "ping"})
        assert (await c.frame())["code"] == "rate_limited"
        for _ in range(4):
            await c.send({"type": "ping"})
        assert await c.closed_with() == 4429


def test_the_token_bucket_refills_at_its_rate():
    now = [0.0]
    bucket = TokenBucket(rate=2, burst=2, clock=lambda: now[0])
    assert [bucket.take() for _ in range(3)] == [True, True, False]
    now[0] += 0.5
    assert [bucket.take() for _ in range(2)] == [True, False]


async def test_heartbeats_arrive_and_a_silent_client_is_closed(console, operator, settings):
    settings.REALTIME_HEARTBEAT_SECONDS = 0.1
    settings.REALTIME_HEARTBEAT_MISSES = 2
    async with console(operator) as c:
        beat = await c.frame()
        assert beat["type"] == "heartbeat" and "last_event_id" in beat
        await c.send({"type": "pong"})
        assert (await c.frame())["type"] == "heartbeat"
        assert await c.closed_with() == 4408


async def test_a_user_who_loses_a_membership_stops_receiving_that_audience(
    console, network, counsellor_a
):
    from directory.models import Membership

    centre_a = aud.org(network["centre_a"].pk)
    async with console(counsellor_a) as c:
        first = await ev(audiences=[centre_a])
        assert (await c.frame())["id"] == first.id

        @db
        def end_membership():
            m = Membership.objects.get(user=counsellor_a)
            m.is_active = False
            m.save()

        await end_membership()
        changed = await c.frame()
        assert changed["type"] == "audiences"
        assert changed["audiences"] == [aud.user(counsellor_a.pk)]
        await ev(audiences=[centre_a])
        sentinel = await ev(audiences=[aud.user(counsellor_a.pk)])
        assert (await c.frame())["id"] == sentinel.id
    # Nor does a replay give it back.
    async with console(counsellor_a, last_event_id=first.id) as c:
        frames = await c.frames_until("replayed")
        assert [f["id"] for f in frames[:-1]] == [sentinel.id]


async def test_the_heartbeat_catches_a_membership_change_whose_nudge_was_lost(
    console, network, counsellor_a, settings
):
    from directory.models import Membership

    settings.REALTIME_HEARTBEAT_SECONDS = 0.1
    settings.REALTIME_HEARTBEAT_MISSES = 100
    centre_a = aud.org(network["centre_a"].pk)
    async with console(counsellor_a) as c:
        # A queryset update sends no signal, so no nudge.
        await db(lambda: Membership.objects.filter(user=counsellor_a).update(is_active=False))()
        changed = (await c.frames_until("audiences"))[-1]
        assert changed["audiences"] == [aud.user(counsellor_a.pk)]
        await ev(audiences=[centre_a])
        frames = []
        while len(frames) < 2:
            frame = await c.frame()
            assert frame["type"] == "heartbeat", frame
            frames.append(frame)


async def test_a_deactivated_user_is_disconnected(console, operator):
    async with console(operator) as c:

        @db
        def deactivate():
            operator.is_active = False
            operator.save()

        await deactivate()
        assert await c.closed_with() == 4401


async def test_a_lost_broadcast_is_recovered_by_replay_on_reconnect(
    console, network, operator, monkeypatch
):
    class BrokenLayer:
        async def group_send(self, group, message):
            raise ConnectionError("redis is down")

    async with console(operator) as c:
        cursor = c.hello["last_event_id"]
        with monkeypatch.context() as m:
            m.setattr("realtime.publish.get_channel_layer", lambda: BrokenLayer())
            lost = await ev(audiences=[aud.org(network["hotline"].pk)])
        assert await c.silent()
    async with console(operator, last_event_id=cursor) as c:
        frames = await c.frames_until("replayed")
        assert [f["id"] for f in frames[:-1]] == [lost.id]


async def test_too_far_behind_gets_a_resync_instead_of_a_replay(console, operator, settings):
    settings.REALTIME_REPLAY_WINDOW = 2
    events = [await ev(audiences=[aud.user(operator.pk)]) for _ in range(3)]
    async with console(operator, last_event_id=0) as c:
        assert await c.frame() == {"type": "resync", "last_event_id": events[-1].id}
        live = await ev(audiences=[aud.user(operator.pk)])
        assert (await c.frame())["id"] == live.id
    async with console(operator, last_event_id=events[1].id) as c:
        frames = await c.frames_until("replayed")
        assert [f["id"] for f in frames[:-1]] == [events[2].id, live.id]


@pytest.mark.parametrize("cursor", ["abc", "-1", "999999999"])
async def test_an_unusable_cursor_gets_an_error_and_a_resync(console, operator, cursor):
    async with console(operator, last_event_id=cursor) as c:
        error = await c.frame()
        assert (error["type"], error["code"]) == ("error", "bad_last_event_id")
        assert (await c.frame())["type"] == "resync"


async def test_a_lost_broadcast_reaches_a_connected_console_at_the_next_heartbeat(
    console, network, operator, monkeypatch, settings
):
    """The layer is a nudge: the heartbeat reads the table above the console's low-water mark."""

    class BrokenLayer:
        async def group_send(self, group, message):
            raise ConnectionError("redis is down")

    settings.REALTIME_HEARTBEAT_SECONDS = 0.2
    settings.REALTIME_HEARTBEAT_MISSES = 50
    async with console(operator) as c:
        with monkeypatch.context() as m:
            m.setattr("realtime.publish.get_channel_layer", lambda: BrokenLayer())
            lost = await ev(audiences=[aud.org(network["hotline"].pk)])
        frames = [await c.frame()]
        while frames[-1]["type"] != "heartbeat" or lost.as_message() not in frames:
            frames.append(await c.frame())
        assert [f for f in frames if f["type"] != "heartbeat"] == [lost.as_message()]


@db
def _event_with_id(event_id: int, user) -> dict:
    """An event row under a chosen id: what a transaction that took its id earlier and commits
    now leaves in the table."""
    from realtime.models import Event, EventAudience

    event = Event.objects.create(id=event_id, type="test.late")
    EventAudience.objects.create(event=event, audience=aud.user(user.pk))
    return event.as_message()


async def test_an_id_missing_below_the_cursor_is_delivered_when_it_commits(
    console, operator, settings
):
    settings.REALTIME_HEARTBEAT_SECONDS = 0.2
    settings.REALTIME_HEARTBEAT_MISSES = 50
    first = await ev(audiences=[aud.user(operator.pk)])
    newer = await _event_with_id(first.id + 2, operator)  # first.id + 1 not committed yet
    async with console(operator, last_event_id=newer["id"]) as c:
        assert c.hello["resume_from"] <= first.id  # below the missing id: resume from there
        assert (await c.frame())["type"] == "replayed"
        late = await _event_with_id(first.id + 1, operator)
        assert await c.frame() == late
        beat = await c.frame()
        assert beat["type"] == "heartbeat" and beat["resume_from"] < newer["id"] + 1


async def test_a_gap_behind_a_live_event_is_filled_after_the_settle_time(
    console, network, operator, settings
):
    settings.REALTIME_GAP_SETTLE_SECONDS = 0.1
    async with console(operator) as c:
        start = c.hello["last_event_id"]
        # Never announced (as if its commit came late and its nudge was lost), below a live one.
        late = await _event_with_id(start + 1, operator)
        newest = await _event_with_id(start + 3, operator)
        assert await c.silent(0.3)
        # The next live event is above the scanned part: a settle-time later the table is read.
        await get_channel_layer().group_send(
            aud.group_name(aud.user(operator.pk)),
            {"type": "console.event", "event": newest},
        )
        frames = [await c.frame() for _ in range(2)]
        assert [f["id"] for f in frames] == [newest["id"], late["id"]]
