"""Over the real WebSocket: a police responder hears its own leg, not the case file (最小必要)."""

import pytest
from channels.db import database_sync_to_async as db

from escalation import services as esc_services
from hotline import services as hotline_services
from realtime import audiences as aud
from realtime.publish import publish
from tests.escalation.conftest import responders  # noqa: F401 (the dispatch-ready network)

pytestmark = pytest.mark.django_db(transaction=True)


async def _events_until(c, sentinel_type: str) -> list[dict]:
    """Event frames up to the sentinel (control frames such as pings are skipped)."""
    seen = []
    while True:
        frame = await c.frame(timeout=5)
        if isinstance(frame.get("id"), int) and "case" in frame:
            seen.append(frame)
            if frame["type"] == sentinel_type:
                return seen[:-1]


def _risk_person_and_dispatch(operator, case):
    hotline_services.set_risk(operator, case, "high", reason="诉说已写好遗书")
    hotline_services.update_person(operator, case.person, name="周小明")
    return esc_services.create_dispatch(operator, case, address="月河社区3幢")


async def test_the_police_hear_their_own_leg_and_not_the_case_file(
    console,
    network,
    responders,  # noqa: F811 (the fixture imported above)
    operator,
    responder,
    hotline_case,
):
    async with console(responder) as police, console(operator) as desk:
        dispatch = await db(_risk_person_and_dispatch)(operator, hotline_case)
        for who in (responder, operator):
            await db(publish)("test.sentinel", audiences=[aud.user(who.pk)])
        heard = await _events_until(police, "test.sentinel")
        at_desk = await _events_until(desk, "test.sentinel")

    legs = await db(lambda: {leg.kind: leg for leg in dispatch.legs.all()})()
    police_leg = legs["police"]
    types = [e["type"] for e in heard]
    assert "case.risk_changed" not in types and "person.updated" not in types
    assert "dispatch.created" not in types
    assert types == ["dispatch.leg_notified"]
    notified = heard[0]["data"]
    assert notified["leg"] == police_leg.pk and notified["organisation"] == network["police"].pk
    assert "legs" not in notified  # its leg and the minimal brief, not the others

    # The operator running the dispatch still hears everything it needs.
    desk_types = {e["type"] for e in at_desk}
    assert {"case.risk_changed", "person.updated", "dispatch.created"} <= desk_types
    created = next(e for e in at_desk if e["type"] == "dispatch.created")
    assert {leg["leg"] for leg in created["data"]["legs"]} == {leg.pk for leg in legs.values()}
    assert {e["data"]["leg"] for e in at_desk if e["type"] == "dispatch.leg_notified"} == {
        leg.pk for leg in legs.values()
    }


async def test_replay_gives_the_police_the_same_as_live(
    console,
    network,
    responders,  # noqa: F811 (the fixture imported above)
    operator,
    responder,
    hotline_case,
):
    await db(_risk_person_and_dispatch)(operator, hotline_case)
    await db(publish)("test.sentinel", audiences=[aud.user(responder.pk)])
    async with console(responder, last_event_id=0) as police:
        replayed = await _events_until(police, "test.sentinel")
    assert [e["type"] for e in replayed] == ["dispatch.leg_notified"]
