"""The open-case tally: kept exact by the database's triggers, whoever writes a case."""

import threading
from collections import Counter

import pytest
from django.db import connection, connections, transaction

from dashboard import tally
from dashboard.models import OpenCaseTally
from hotline import services
from hotline.models import Case
from tests.factories import CaseFactory, PersonFactory, RegionFactory


def live() -> dict:
    """The open cases counted from the case table itself."""
    found = Counter()
    for stage, risk, org, district in Case.objects.open().values_list(
        "stage", "risk", "owning_organisation", "district"
    ):
        found[(stage, risk, org, district or 0)] += 1
    return dict(found)


def tallied() -> dict:
    found = Counter()
    for row in OpenCaseTally.objects.all():
        found[(row.stage, row.risk, row.organisation, row.district)] += row.n
    return {key: n for key, n in found.items() if n}


def test_every_way_a_case_changes_is_counted(network, operator, coordinator, hotline_case):
    assert tallied() == live() != {}
    services.set_risk(operator, hotline_case, "high")
    assert tallied() == live()
    services.advance_case(operator, hotline_case, "intervention")
    assert tallied() == live()
    # Moving house: Person.save moves every case's district with one bulk UPDATE.
    deqing_village = RegionFactory(
        code="330521001001", name="某村", level="village", parent=network["deqing"]
    )
    services.update_person(operator, hotline_case.person, home_region=deqing_village)
    assert tallied() == live()
    assert tally.counts("district") == {network["deqing"].pk: 1}
    # Intake writes its own INSERT; a call from a new number opens a case with no district.
    call = services.enter_manual_call(operator, channel="walk_in", from_number="+8613900000888")
    assert call.case.district is None and call.case.pk != hotline_case.pk
    assert tallied() == live()
    services.close_case(coordinator, hotline_case, reason="done")
    assert tallied() == live()
    hotline_case.refresh_from_db()
    services.reopen_case(coordinator, hotline_case, reason="called again")
    assert tallied() == live()
    # A bulk update and a delete bypass every save.
    Case.objects.update(owning_organisation=network["centre_a"])
    assert tallied() == live()
    CaseFactory(person=PersonFactory(), owning_organisation=network["hotline"]).delete()
    assert tallied() == live()
    assert tally.counts("organisation") == {network["centre_a"].pk: 2}


def test_a_save_that_changes_no_counted_column_appends_nothing(operator, hotline_case):
    rows = OpenCaseTally.objects.count()
    services.set_next_step(operator, hotline_case, next_step="明日回电")
    hotline_case.refresh_from_db()
    hotline_case.save()
    assert OpenCaseTally.objects.count() == rows


def test_counts_are_narrowed_by_the_other_columns(network, operator):
    for risk, region in (("high", network["village"]), ("high", None), ("low", network["deqing"])):
        person = services.create_person(operator, name="某人", home_region=region)
        services.open_case(
            operator, person=person, owning_organisation=network["hotline"], risk=risk
        )
    assert tally.counts("risk") == {"high": 2, "low": 1}
    assert tally.counts("district", risk="high") == {network["wuxing"].pk: 1, 0: 1}
    assert tally.counts("stage", district=network["deqing"].pk) == {"discovery": 1}
    assert tally.counts("stage", organisation=network["centre_a"].pk) == {}


def test_compacting_and_rebuilding_keep_the_sums(network, operator, coordinator, hotline_case):
    for _ in range(3):
        services.set_risk(operator, hotline_case, "high")
        services.set_risk(operator, hotline_case, "moderate")
    before = tallied()
    assert OpenCaseTally.objects.count() > len(before)
    assert tally.compact() == len(before) == 1
    assert tallied() == before == live()
    services.close_case(coordinator, hotline_case, reason="done")
    assert tally.compact() == 0  # groups that sum to zero are dropped
    OpenCaseTally.objects.create(stage="discovery", risk="none", organisation=1, n=5)  # drift
    tally.rebuild()
    assert tallied() == live()


def test_missing_triggers_are_put_back_and_the_tally_recounted(network, operator, hotline_case):
    tally.uninstall()
    assert not tally.installed()
    services.set_risk(operator, hotline_case, "imminent")  # not counted: no trigger
    assert tallied() != live()
    assert tally.install() is True
    assert tally.installed() and tallied() == live()
    assert tally.install() is False  # already there: nothing to do


def test_migrate_puts_back_triggers_a_table_rebuild_dropped(network, operator, hotline_case):
    """SQLite drops a table's triggers when a migration rebuilds the table (checked by hand
    with ``alter_field``); every ``migrate`` ends by putting them back and recounting."""
    from django.core.management import call_command

    tally.uninstall()
    services.set_risk(operator, hotline_case, "high")  # missed while the triggers are gone
    call_command("migrate", verbosity=0)
    assert tally.installed() and tallied() == live()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_compacting_while_another_transaction_appends(network):
    """Rows appended by a transaction still open when the tally is folded are neither lost
    nor counted twice."""
    opened, release = threading.Event(), threading.Event()

    def open_a_case():
        try:
            with transaction.atomic():
                CaseFactory(person=PersonFactory(), owning_organisation=network["hotline"])
                opened.set()
                release.wait(10)
        finally:
            connections.close_all()

    CaseFactory(person=PersonFactory(), owning_organisation=network["hotline"])
    writer = threading.Thread(target=open_a_case)
    writer.start()
    assert opened.wait(10)
    tally.compact(connection)
    release.set()
    writer.join(10)
    assert tallied() == live() and sum(live().values()) == 2
    tally.compact(connection)
    assert tallied() == live() and OpenCaseTally.objects.count() == 1
