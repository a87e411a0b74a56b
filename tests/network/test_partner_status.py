"""Signed status reports from a 110/120 platform update the leg as the responder page does."""

import json
import time

import pytest

from escalation import services
from escalation.models import DispatchLeg
from network.models import PartnerSystem
from network.signing import signature
from realtime.models import Event

SECRET = "police-platform-secret-0123456789"


@pytest.fixture
def partner(network, responder):
    return PartnerSystem.objects.create(
        organisation=network["police"], secret=SECRET, acting_user=responder
    )


@pytest.fixture
def legs(operator, hotline_case, responders):
    dispatch = services.create_dispatch(operator, hotline_case, address="月河街12号")
    return {leg.kind: leg for leg in dispatch.legs.all()}


def post(client, leg_id, body, *, secret=SECRET, stamp=None, code="police-wx", sig=None):
    if isinstance(body, dict):
        body = {"leg": leg_id, **body}
    raw = json.dumps(body).encode()
    stamp = str(int(time.time())) if stamp is None else stamp
    return client.post(
        f"/api/v1/partners/legs/{leg_id}/status/",
        raw,
        content_type="application/json",
        HTTP_X_CRISISLINE_PARTNER=code,
        HTTP_X_CRISISLINE_TIMESTAMP=stamp,
        HTTP_X_CRISISLINE_SIGNATURE=sig or signature(secret, stamp, raw),
    )


def test_the_platform_walks_its_leg_through_every_step(client, partner, legs):
    police = legs["police"]
    for status, state in (
        ("acknowledged", "acknowledged"),
        ("on_the_way", "en_route"),
        ("arrived", "on_scene"),
        ("handed_over", "done"),
    ):
        response = post(client, police.pk, {"status": status, "note": "巡逻车A"})
        assert response.status_code == 200, response.content
        assert response.json()["state"] == state
    police.refresh_from_db()
    assert police.acknowledged_via == "partner" and police.acknowledged_by == partner.acting_user
    assert (
        Event.objects.filter(type="dispatch.leg_progressed", actor=partner.acting_user).count() == 3
    )


def test_a_bad_signature_is_refused_and_nothing_changes(client, partner, legs):
    police = legs["police"]
    assert post(client, police.pk, {"status": "acknowledged"}, secret="wrong").status_code == 401
    assert post(client, police.pk, {"status": "acknowledged"}, sig="sha256=00").status_code == 401
    assert post(client, police.pk, {"status": "acknowledged"}, code="nobody").status_code == 401
    unsigned = client.post(
        f"/api/v1/partners/legs/{police.pk}/status/",
        {"status": "acknowledged"},
        content_type="application/json",
    )
    assert unsigned.status_code == 401
    assert DispatchLeg.objects.get(pk=police.pk).state == "notified"


def test_stale_and_replayed_requests_are_refused(client, partner, legs):
    police = legs["police"]
    old = str(int(time.time()) - 600)
    assert post(client, police.pk, {"status": "acknowledged"}, stamp=old).status_code == 401
    assert post(client, police.pk, {"status": "acknowledged"}, stamp="soon").status_code == 401
    stamp = str(int(time.time()))
    assert post(client, police.pk, {"status": "acknowledged"}, stamp=stamp).status_code == 200
    replay = post(client, police.pk, {"status": "acknowledged"}, stamp=stamp)
    assert replay.status_code == 401 and replay.json()["code"] == "replay"


def test_unknown_foreign_and_out_of_order_legs(client, partner, legs):
    assert post(client, 999999, {"status": "acknowledged"}).status_code == 404
    assert post(client, legs["community"].pk, {"status": "acknowledged"}).status_code == 403
    assert DispatchLeg.objects.get(pk=legs["community"].pk).state == "notified"
    assert post(client, legs["police"].pk, {"status": "arrived"}).status_code == 409
    assert post(client, legs["police"].pk, {"status": "flying"}).status_code == 400
    assert post(client, legs["police"].pk, ["x"]).status_code == 400
    elsewhere = post(
        client, legs["police"].pk, {"status": "acknowledged", "leg": legs["ambulance"].pk}
    )
    assert elsewhere.status_code == 400
