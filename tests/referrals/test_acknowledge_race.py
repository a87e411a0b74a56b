"""Two counsellors of one centre acknowledge the same referral at once: exactly one wins."""

import threading

import pytest
from django.db import connection

from core.errors import Conflict
from realtime.models import Event
from referrals import services
from referrals.models import Referral
from tests.referrals.conftest import refer


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_counsellors_acknowledging_at_once_one_wins_the_other_gets_409(
    operator, hotline_case, counsellor_a, counsellor_a2
):
    referral = refer(operator, hotline_case)
    barrier = threading.Barrier(2)
    results: dict[str, str] = {}

    def press(user):
        try:
            barrier.wait()
            services.acknowledge(user, Referral.objects.get(pk=referral.pk))
            results[user.username] = "won"
        except Conflict as exc:
            results[user.username] = exc.code
        finally:
            connection.close()

    threads = [threading.Thread(target=press, args=(u,)) for u in (counsellor_a, counsellor_a2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(results.values()) == ["already_acknowledged", "won"]
    winner = next(name for name, r in results.items() if r == "won")
    referral.refresh_from_db()
    assert referral.state == "acknowledged"
    assert referral.acknowledged_by.username == winner
    assert Event.objects.filter(type="referral.acknowledged").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_bookings_of_one_slot_at_once_one_wins(
    network, operator, hotline_case, counsellor_a, counsellor_a2, slot_for
):
    """The partial unique index decides, not a Python check that both pass."""
    from hotline import services as hotline_services

    slot = slot_for(counsellor_a)
    other = hotline_services.open_case(
        operator,
        person=hotline_services.create_person(operator, name="另一位"),
        owning_organisation=network["hotline"],
    )
    for case in (hotline_case, other):
        hotline_services.grant_access(case, network["centre_a"], reason="referral")
    barrier = threading.Barrier(2)
    results = []

    def book(user, case):
        try:
            barrier.wait()
            services.book_appointment(user, case=case, slot=slot)
            results.append("won")
        except Conflict as exc:
            results.append(exc.code)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=book, args=(counsellor_a, hotline_case)),
        threading.Thread(target=book, args=(counsellor_a2, other)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(results) == ["slot_taken", "won"]
