"""One person per phone number: the database refuses a second, the services say so beside the
phone field, and the migration releases the numbers of people already duplicated."""

import importlib

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, transaction

from core.errors import Invalid
from hotline import services
from hotline.models import Person

migration = importlib.import_module("hotline.migrations.0011_one_person_per_phone")


def test_the_database_refuses_a_second_person_with_a_number(db):
    Person.objects.create(phone="+8613900006001")
    with pytest.raises(IntegrityError), transaction.atomic():
        Person.objects.create(phone="+8613900006001")
    # Withheld numbers are blank, and blank is not a number: any count of them.
    Person.objects.create(phone="", is_anonymous=True)
    Person.objects.create(phone="", is_anonymous=True)


def test_registering_a_known_number_is_a_400_beside_the_phone(client_for, operator):
    client = client_for(operator)
    first = client.post("/api/v1/people/", {"name": "甲", "phone": "13900006002"}, format="json")
    assert first.status_code == 201, first.json()
    again = client.post("/api/v1/people/", {"name": "乙", "phone": "139 0000 6002"}, format="json")
    assert again.status_code == 400
    assert again.json()["code"] == "phone_taken"
    assert "already on file" in again.json()["fields"]["phone"][0]
    assert Person.objects.count() == 1


def test_changing_a_number_to_a_known_one_is_refused_and_changes_nothing(administrator):
    kept = services.create_person(administrator, name="甲", phone="+8613900006003")
    other = services.create_person(administrator, name="乙", phone="+8613900006004")
    with pytest.raises(Invalid) as refused:
        services.update_person(administrator, other, phone="+8613900006003", name="丙")
    assert refused.value.fields == {"phone": [refused.value.message]}
    other.refresh_from_db()
    assert (str(other.phone), other.name) == ("+8613900006004", "乙")
    assert Person.objects.filter(phone=kept.phone).get() == kept


@pytest.mark.django_db(transaction=True)
def test_the_migration_leaves_the_newest_the_number_and_notes_it_on_the_others(network):
    Person.objects.create(phone="+8613900006005", name="旧")
    # The constraint is in place; drop it to arrange the data as it was before it.
    constraint = next(c for c in Person._meta.constraints if c.name == "one_person_per_phone")
    with connection.schema_editor() as editor:
        editor.remove_constraint(Person, constraint)
    older = Person.objects.create(phone="+8613900006006", name="旧", notes="来电多次")
    newer = Person.objects.create(phone="+8613900006006", name="新")
    migration.release_duplicate_numbers(apps, None)
    with connection.schema_editor() as editor:
        editor.add_constraint(Person, constraint)
    older.refresh_from_db()
    newer.refresh_from_db()
    assert str(newer.phone) == "+8613900006006"
    assert older.phone == ""
    assert older.notes.startswith("来电多次\n")
    assert "+8613900006006" in older.notes and f"#{newer.pk}" in older.notes
    assert Person.objects.filter(phone="+8613900006005").count() == 1
