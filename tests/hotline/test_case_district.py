"""Case.district (区县): each case keeps the district of its person's home region, whichever
way the case was opened and whenever the person moves; the migration fills it for old cases."""

import importlib
from types import SimpleNamespace

from django.apps import apps
from django.db import connection

from hotline import services
from hotline.models import Call, Case
from tests.factories import RegionFactory


def test_a_case_opened_through_the_service_has_its_persons_district(network, hotline_case):
    # The person lives in a village of 吴兴区, three levels below the district.
    assert hotline_case.district == network["wuxing"]
    assert Case.objects.get(pk=hotline_case.pk).district == network["wuxing"]


def test_a_person_at_district_level_or_with_no_region(network, operator):
    at_district = services.create_person(operator, name="甲", home_region=network["deqing"])
    nowhere = services.create_person(operator, name="乙")
    at_city = services.create_person(operator, name="丙", home_region=network["city"])
    opened = [
        services.open_case(operator, person=p, owning_organisation=network["hotline"])
        for p in (at_district, nowhere, at_city)
    ]
    assert [c.district for c in opened] == [network["deqing"], None, None]


def test_moving_house_moves_every_case_of_the_person(network, operator, coordinator, hotline_case):
    services.close_case(coordinator, hotline_case, reason="done")
    reopened = services.open_case(
        operator, person=hotline_case.person, owning_organisation=network["hotline"]
    )
    other = services.create_person(operator, name="邻居", home_region=network["village"])
    neighbour = services.open_case(operator, person=other, owning_organisation=network["hotline"])
    deqing_village = RegionFactory(
        code="330521001001", name="某村", level="village", parent=network["deqing"]
    )

    services.update_person(operator, hotline_case.person, home_region=deqing_village)

    assert Case.objects.get(pk=hotline_case.pk).district == network["deqing"]  # closed, too
    assert Case.objects.get(pk=reopened.pk).district == network["deqing"]
    assert Case.objects.get(pk=neighbour.pk).district == network["wuxing"]  # not the neighbour's

    services.update_person(operator, hotline_case.person, home_region=None)
    assert not Case.objects.filter(person=hotline_case.person, district__isnull=False).exists()


def test_a_case_opened_by_a_call_has_the_callers_district(
    network, incoming, hotline_case, coordinator
):
    # Intake opens the case through the same writer as open_case (Case.save finds the district).
    services.close_case(coordinator, hotline_case, reason="done")
    incoming("CA" + "d" * 32, from_=str(hotline_case.person.phone))
    call = Call.objects.select_related("case").get(call_sid="CA" + "d" * 32)
    assert call.case != hotline_case and call.case.district == network["wuxing"]

    incoming("CA" + "c" * 32, from_="+8613900000999")  # a new number: nowhere known
    assert Call.objects.get(call_sid="CA" + "c" * 32).case.district is None


def test_the_migration_fills_the_district_of_existing_cases(network, operator, hotline_case):
    at_district = services.create_person(operator, name="甲", home_region=network["deqing"])
    deqing_case = services.open_case(
        operator, person=at_district, owning_organisation=network["hotline"]
    )
    nowhere = services.create_person(operator, name="乙")
    nowhere_case = services.open_case(
        operator, person=nowhere, owning_organisation=network["hotline"]
    )
    Case.objects.update(district=None)  # as the cases were before the field

    migration = importlib.import_module("hotline.migrations.0006_case_district")
    migration.backfill(apps, SimpleNamespace(connection=connection))  # all it reads of one

    districts = dict(Case.objects.values_list("pk", "district"))
    assert districts == {
        hotline_case.pk: network["wuxing"].pk,
        deqing_case.pk: network["deqing"].pk,
        nowhere_case.pk: None,
    }
