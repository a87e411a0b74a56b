"""Outbound hooks: a receiver started here verifies signatures, fails twice, then accepts."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from escalation import services
from escalation.worker import run_until_idle
from network.models import HookDelivery, HookSubscription
from network.signing import signature

# A real HTTP receiver and several worker rounds: slow on a loaded two-core machine.
pytestmark = pytest.mark.timeout(300)

SECRET = "receiver-shared-secret-0123456789"


class Receiver:
    """An HTTP receiver on 127.0.0.1: checks each signature, answers 500 to the first two tries
    of every delivery, then 200; keeps what it accepted by delivery id."""

    def __init__(self, fail_first: int = 2):
        self.seen: list[dict] = []
        self.accepted: dict[str, dict] = {}
        self.bad_signatures = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                stamp = self.headers["X-Crisisline-Timestamp"]
                good = signature(SECRET, stamp, body) == self.headers["X-Crisisline-Signature"]
                delivery = self.headers["X-Crisisline-Delivery"]
                outer.seen.append({"delivery": delivery, "good": good})
                tries = sum(1 for s in outer.seen if s["delivery"] == delivery)
                if not good:
                    outer.bad_signatures += 1
                    code = 401
                elif tries <= fail_first:
                    code = 500
                else:
                    outer.accepted.setdefault(delivery, json.loads(body))
                    code = 200
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def _run_retries(rounds: int = 4) -> None:
    later = timezone.now()
    for _ in range(rounds):
        run_until_idle(now=later)
        later += timedelta(hours=3)  # past every backoff step


@pytest.fixture
def police_hook(network, responders):
    def make(url):
        return HookSubscription.objects.create(
            organisation=network["police"],
            url=url,
            secret=SECRET,
            event_types=["dispatch.leg_notified", "dispatch.leg_acknowledged", "referral.sent"],
        )

    return make


def test_a_receiver_failing_twice_gets_each_event_exactly_once_with_a_stable_delivery_id(
    operator, hotline_case, responders, police_hook
):
    with Receiver(fail_first=2) as receiver:
        police_hook(receiver.url)
        dispatch = services.create_dispatch(operator, hotline_case, address="月河街12号")
        police = dispatch.legs.get(kind="police")
        services.acknowledge_leg(operator, police, via="console")
        _run_retries()
    deliveries = HookDelivery.objects.all()
    assert receiver.bad_signatures == 0
    assert len(receiver.accepted) == deliveries.count() >= 1
    for delivery in deliveries:
        assert delivery.status == "delivered" and delivery.attempts == 3
        assert delivery.last_status_code == 200
        tries = [s for s in receiver.seen if s["delivery"] == str(delivery.pk)]
        assert len(tries) == 3  # the same id on every retry: the receiver's idempotency key
    types = sorted(body["event"]["type"] for body in receiver.accepted.values())
    assert "dispatch.leg_acknowledged" in types
    # Exactly one accepted delivery per event.
    events = [body["event"]["id"] for body in receiver.accepted.values()]
    assert len(events) == len(set(events))


def test_another_organisations_leg_never_goes_out(
    operator, hotline_case, responders, police_hook, network
):
    with Receiver(fail_first=0) as receiver:
        police_hook(receiver.url)
        dispatch = services.create_dispatch(operator, hotline_case, address="月河街12号")
        community = dispatch.legs.get(kind="community")
        services.acknowledge_leg(operator, community, via="console")
        _run_retries(1)
    own_legs = set(
        dispatch.legs.filter(organisation=network["police"]).values_list("pk", flat=True)
    )
    assert receiver.accepted, "the police leg's own events went out"
    for body in receiver.accepted.values():
        assert body["data"]["leg"]["id"] in own_legs
        assert body["data"]["leg"]["kind"] == "police"
        assert "notes" not in json.dumps(body)
    # A police platform is not entitled to referral events even if it asks for them.
    assert not HookDelivery.objects.filter(event_type="referral.sent").exists()


def test_a_hospital_hook_gets_its_referrals_without_patient_data(
    network, counsellor_a, referral, nurse
):
    from referrals import services as referral_services

    with Receiver(fail_first=0) as receiver:
        HookSubscription.objects.create(
            organisation=network["hospital"],
            url=receiver.url,
            secret=SECRET,
            event_types=["referral.sent", "dispatch.leg_notified"],
        )
        transfer = referral_services.send_referral(
            counsellor_a,
            referral.case,
            kind="green_channel",
            receiver=network["hospital"],
            service="youth_ward",
            consent=True,
        )
        _run_retries(1)
    (body,) = receiver.accepted.values()
    assert body["data"]["referral"]["id"] == transfer.pk
    assert body["data"]["referral"]["fhir"] == f"/api/v1/referrals/{transfer.pk}/fhir/"
    assert "小周" not in json.dumps(body, ensure_ascii=False)
    # The counselling referral the hospital is not part of never went out.
    assert HookDelivery.objects.count() == 1


def test_an_unreachable_receiver_gives_up_after_the_last_attempt(
    settings, operator, hotline_case, responders, police_hook
):
    settings.NETWORK_HOOK_MAX_ATTEMPTS = 2
    police_hook("http://127.0.0.1:9/nothing-listens")
    services.create_dispatch(operator, hotline_case, address="月河街12号")
    _run_retries()
    delivery = HookDelivery.objects.get()
    assert delivery.status == "failed" and delivery.attempts == 2
    assert delivery.last_error and delivery.last_status_code is None
