"""Two operators accepting at once on PostgreSQL: real concurrent transactions."""

import threading

import pytest
from django.db import connection

from core.errors import Conflict
from hotline import services
from hotline.models import Call
from realtime.models import Event

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _race(fns):
    barrier = threading.Barrier(len(fns))
    results = [None] * len(fns)

    def run(i, fn):
        try:
            barrier.wait()
            results[i] = fn()
        except Exception as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_two_operators_accepting_the_same_call_exactly_one_wins(operator, operator2):
    call = services.enter_manual_call(operator, channel="walk_in")
    results = _race(
        [
            lambda: services.accept_call(operator, call),
            lambda: services.accept_call(operator2, call),
        ]
    )
    wins = [r for r in results if isinstance(r, Call)]
    losses = [r for r in results if isinstance(r, Conflict)]
    assert len(wins) == 1 and len(losses) == 1, results
    assert losses[0].code == "call_taken"
    call.refresh_from_db()
    assert call.status == "in_progress" and call.operator == wins[0].operator
    assert Event.objects.filter(type="call.accepted").count() == 1


def test_two_operators_accepting_the_next_get_different_calls(operator, operator2):
    a = services.enter_manual_call(operator, channel="walk_in")
    b = services.enter_manual_call(operator, channel="walk_in")
    results = _race(
        [lambda: services.accept_call(operator), lambda: services.accept_call(operator2)]
    )
    assert all(isinstance(r, Call) for r in results), results
    assert {r.pk for r in results} == {a.pk, b.pk}
