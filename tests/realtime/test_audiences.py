"""Who receives which event (最小必要): every event type x every role, the socket against REST.

For each registered event type, an event about one case is published through ``publish`` to the
audiences its need's rule gives; then, for each role, whether the event is among the user's
replayable events (EventAudience rows x ``audiences_for``) must equal whether REST lets the user
read the resource the event is about. Plus: every event type written in the code is registered,
and an unregistered type about a case is refused.
"""

import re
from pathlib import Path

import pytest

from escalation import selectors as esc
from escalation import services as esc_services
from escalation.services.alerts import raise_alert
from escalation.services.dispatch import leg_alert_spec
from hotline.selectors import reader_hotline_ids
from realtime import audiences as aud
from realtime.models import Event
from realtime.publish import publish
from realtime.selectors import events_visible_to
from referrals import services as referral_services
from tests.escalation.conftest import responders  # noqa: F401 (the dispatch-ready network)
from tests.factories import MembershipFactory, UserFactory

ROLES = (
    "operator",
    "coordinator",
    "counsellor",  # of the centre the case was referred to
    "counsellor_elsewhere",  # of a centre the case was never referred to
    "hospital_staff",  # of a hospital not holding the case
    "expert",
    "police",
    "ambulance",
    "community",
    "decision_maker",
    "administrator",
    "outsider",
)


@pytest.fixture
def world(
    network,
    responders,  # noqa: F811 (the fixture imported above)
    operator,
    coordinator,
    counsellor_a,
    counsellor_b,
    nurse,
    decision_maker,
    responder,
    administrator,
    outsider,
    hotline_case,
):
    """A hotline case referred to centre A and dispatched to police, ambulance and community."""
    case = hotline_case
    referral = referral_services.send_referral(
        operator,
        case,
        kind="counselling",
        receiver=network["centre_a"],
        consent=True,
        reason="面谈",
    )
    dispatch = esc_services.create_dispatch(operator, case, address="月河社区3幢")
    legs = {leg.kind: leg for leg in dispatch.legs.select_related("organisation")}
    alert, _ = raise_alert(leg_alert_spec(legs["police"]))
    medic = UserFactory(username="medic")
    MembershipFactory(user=medic, organisation=responders["ambulance"], role="responder")
    users = {
        "operator": operator,
        "coordinator": coordinator,
        "counsellor": counsellor_a,
        "counsellor_elsewhere": counsellor_b,
        "hospital_staff": nurse,
        "expert": responders["expert"],
        "police": responder,
        "ambulance": medic,
        "community": responders["community_worker"],
        "decision_maker": decision_maker,
        "administrator": administrator,
        "outsider": outsider,
    }
    case.refresh_from_db()
    return {
        "case": case,
        "referral": referral,
        "dispatch": dispatch,
        "police_leg": legs["police"],
        "alert": alert,
        "hotline": network["hotline"],
        "users": users,
    }


def _audiences_by_rule(need: str, w) -> tuple[object, set[str]]:
    """(the case or None, the audiences) the need's rule gives, as the call sites build them."""
    case, hotline = w["case"], w["hotline"]
    runners = aud.dispatch_runners(case.owning_organisation_id, case.audience_organisation_ids())
    if need == aud.CASE:
        return case, set()  # publish adds the case file's audiences
    if need == aud.CALLS:
        return case, aud.calls(hotline.pk)
    if need == aud.HOTLINE:
        return None, aud.hotline_staff(hotline.pk)
    if need == aud.REFERRAL:
        r = w["referral"]
        return case, aud.referral(r.sender_id, r.receiver_id, r.sent_by_id)
    if need == aud.DISPATCH:
        return case, runners
    if need == aud.LEG:
        leg = w["police_leg"]
        return case, aud.leg(leg.organisation_id, leg.responder_id, runners)
    if need == aud.ALERT:
        a = w["alert"]
        return case, aud.alert(
            target_user_id=a.target_user_id,
            target_organisation_id=a.target_organisation_id,
            target_role=a.target_role,
            assigned_organisation_id=a.assigned_organisation_id,
            notified_user_ids=a.notified_user_ids or [],
            centre_id=hotline.pk,
        )
    assert need == aud.AUDIT_ONLY
    return case, {aud.AUDIT}


def _rest_allows(need: str, user, w, client) -> bool:
    """What REST lets this user read of the resource the event is about."""
    if need == aud.CASE:
        return client.get(f"/api/v1/cases/{w['case'].pk}/").status_code == 200
    if need in (aud.CALLS, aud.HOTLINE):
        return w["hotline"].pk in reader_hotline_ids(user)
    if need == aud.REFERRAL:
        return client.get(f"/api/v1/referrals/{w['referral'].pk}/").status_code == 200
    if need == aud.DISPATCH:
        r = client.get(f"/api/v1/dispatches/{w['dispatch'].pk}/")
        whole = w["dispatch"].legs.count()
        return r.status_code == 200 and len(r.json()["legs"]) == whole
    if need == aud.LEG:
        return client.get(f"/api/v1/dispatch-legs/{w['police_leg'].pk}/").status_code == 200
    if need == aud.ALERT:
        return client.get(f"/api/v1/alerts/{w['alert'].pk}/").status_code == 200
    return False  # audit rows are never replayed to anyone


def test_every_event_type_reaches_exactly_the_roles_rest_lets_read_it(world, client_for):
    clients = {role: client_for(u) for role, u in world["users"].items()}
    rest = {
        (need, role): _rest_allows(need, world["users"][role], world, clients[role])
        for need in set(aud.EVENT_TYPES.values())
        for role in ROLES
    }
    published = {}
    for event_type, need in sorted(aud.EVENT_TYPES.items()):
        case, audiences = _audiences_by_rule(need, world)
        published[event_type] = publish(
            event_type,
            case=case,
            data={"matrix": True},
            audiences=audiences,
            broadcast=need != aud.AUDIT_ONLY,
        ).pk
    first = min(published.values()) - 1
    disagree = []
    for role in ROLES:
        u = world["users"][role]
        mine = set(events_visible_to(u, after_id=first, limit=10_000).values_list("pk", flat=True))
        for event_type, pk in published.items():
            need = aud.EVENT_TYPES[event_type]
            if (pk in mine) != rest[need, role]:
                disagree.append((event_type, role, "socket" if pk in mine else "REST"))
    cells = len(published) * len(ROLES)
    assert cells == len(aud.EVENT_TYPES) * 12 >= 60 * 12
    assert disagree == [], f"{len(disagree)} of {cells} cells disagree"
    # The matrix means something: each role reads something and is refused something, except the
    # administrator (everything) and the outsider and decision maker (nothing of a case).
    for role in ROLES:
        got = [need for (need, r), ok in rest.items() if r == role and ok]
        if role == "administrator":
            assert len(got) == len({n for n, _ in rest}) - 1  # all but the audit trail
        elif role in (
            "outsider",
            "decision_maker",
            "hospital_staff",
            "counsellor_elsewhere",
            "ambulance",  # their own legs only; the matrix is about the police's leg
            "community",
        ):
            assert got == []
        else:
            assert got, role
    assert rest[aud.CASE, "police"] is False and rest[aud.LEG, "police"] is True
    assert rest[aud.LEG, "ambulance"] is False  # the police's leg is not the ambulance's
    assert rest[aud.CASE, "counsellor"] and not rest[aud.DISPATCH, "counsellor"]


def test_a_case_event_of_an_unregistered_type_is_refused(hotline_case):
    with pytest.raises(aud.UnregisteredEventType):
        publish("case.whispered", case=hotline_case, data={})
    assert not Event.objects.filter(type="case.whispered").exists()


# Calls that publish an event type as their first string argument.
_PUBLISHERS = (
    r"(?:publish|publish_call|publish_callback|leg_event|_alert_event|_publish|_publish_message"
    r"|_end_bookings|_announce)"
)
_LITERAL = re.compile(_PUBLISHERS + r"\(\s*(?:\w+,\s*)?f?\"([a-z_]+\.[a-z_{}.]+)\"", re.S)
APPS = (
    "hotline",
    "referrals",
    "clinics",
    "escalation",
    "dashboard",
    "directory",
    "realtime",
    "prevention",
)


def test_every_event_type_in_the_code_is_registered():
    root = Path(__file__).resolve().parents[2]
    found = set()
    for app in APPS:
        for path in (root / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            found |= set(_LITERAL.findall(path.read_text()))
    assert len(found) >= 50, sorted(found)
    dynamic = {t for t in found if "{" in t}
    assert dynamic == {"referral.{referral.state}"}  # every state is registered below
    from hotline.services.retention import ANONYMISED
    from realtime import audit
    from referrals.models import ReferralState

    written = (found - dynamic) | {f"referral.{s}" for s in ReferralState.values if s != "sent"}
    written |= {audit.READ, audit.DRILL_DOWN, ANONYMISED}  # audit trail: written by constant
    unregistered = sorted(written - set(aud.EVENT_TYPES))
    assert unregistered == []
    # And nothing registered that nothing publishes (a stale rule is a rule nobody checks).
    assert sorted(set(aud.EVENT_TYPES) - written - {"referral.sent"}) == []


def test_leaders_and_outsiders_are_in_no_case_audience(world):
    for role in ("decision_maker", "outsider"):
        mine = aud.audiences_for(world["users"][role])
        rows = Event.objects.filter(case=world["case"], audience_rows__audience__in=mine)
        assert not rows.exists(), role
    assert esc.sees_whole_dispatch(world["users"]["operator"], world["dispatch"])
