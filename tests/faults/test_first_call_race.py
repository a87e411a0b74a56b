"""一人一例 under real concurrency: first calls from one new number arriving at the same moment,
each in a thread with its own PostgreSQL connection, end with one person and one open case."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from hotline import services
from hotline.models import Call, Case, Person

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _simultaneous_first_calls(hotline, number: str, n: int, tag: str) -> list:
    barrier = threading.Barrier(n, timeout=20)

    def first_call(i: int):
        try:
            barrier.wait()  # all threads start their transaction together
            return services.receive_call(
                services.SYSTEM,
                hotline=hotline,
                call_sid=f"CA{tag}{i:02d}".ljust(34, "0"),
                channel="twilio_voice",
                from_raw=number,
            )
        finally:
            connection.close()

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(first_call, range(n)))


def _case_files(number: str) -> tuple[int, int]:
    people = Person.objects.filter(phone=number)
    return people.count(), Case.objects.filter(person__in=people).count()


def test_two_first_calls_at_once_from_a_new_number_make_one_person_and_one_case(network):
    for pair in range(10):
        number = f"+86139{pair:04d}7700"
        results = _simultaneous_first_calls(network["hotline"], number, 2, f"P{pair}")
        assert all(created for _call, created in results)
        assert _case_files(number) == (1, 1), f"pair {pair}"
        assert Call.objects.filter(from_number=number).values("case").distinct().count() == 1


def test_ten_first_calls_at_once_from_a_new_number_make_one_person_and_one_case(network):
    number = "+8613955557700"
    results = _simultaneous_first_calls(network["hotline"], number, 10, "T")
    assert all(created for _call, created in results)
    assert _case_files(number) == (1, 1)
    assert Call.objects.filter(from_number=number).count() == 10


def test_withheld_numbers_at_once_stay_separate_people(network):
    results = _simultaneous_first_calls(network["hotline"], "anonymous", 3, "W")
    people = {call.person_id for call, _created in results}
    assert len(people) == 3
    assert all(Person.objects.get(pk=pk).is_anonymous for pk in people)
