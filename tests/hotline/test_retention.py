"""Retention (PIPL): people whose cases all closed longer than CASE_RETENTION_DAYS ago are
anonymised, each one audited; open or recently closed cases keep their person; counts stay."""

from datetime import timedelta

from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from hotline import services
from hotline.models import Case, Person, Triage
from hotline.services.retention import anonymise_expired
from realtime.models import Event


def closed_case(operator, network, name, phone, *, closed_days_ago):
    person = services.create_person(operator, name=name, phone=phone, notes="父母离异，曾自伤")
    case = services.open_case(operator, person=person, owning_organisation=network["hotline"])
    Case.objects.filter(pk=case.pk).update(
        stage="closed", closed_at=timezone.now() - timedelta(days=closed_days_ago)
    )
    return Case.objects.get(pk=case.pk)


def test_a_person_past_retention_is_anonymised_the_others_are_not(
    settings, operator, network, hotline_case
):
    settings.CASE_RETENTION_DAYS = 30
    old = closed_case(operator, network, "老王", "+8613800000091", closed_days_ago=40)
    recent = closed_case(operator, network, "小李", "+8613800000092", closed_days_ago=10)
    counts = list(
        Case.objects.order_by("pk").values_list(
            "stage", "risk", "district", "opened_at", "closed_at"
        )
    )

    call_command("anonymise_expired")

    gone = Person.objects.get(pk=old.person_id)
    assert (gone.name, str(gone.phone), gone.notes) == ("", "", "")
    assert gone.anonymised_at is not None and gone.is_anonymous
    for kept in (Person.objects.get(pk=recent.person_id), hotline_case.person):
        kept.refresh_from_db()
        assert kept.name and kept.phone and kept.anonymised_at is None
    # The dashboard's columns are untouched.
    assert (
        list(
            Case.objects.order_by("pk").values_list(
                "stage", "risk", "district", "opened_at", "closed_at"
            )
        )
        == counts
    )
    logged = Event.objects.get(type="person.anonymised")
    assert logged.data["person"] == old.person_id and logged.data["cases"] == [old.pk]
    # Idempotent: nothing left to do, nothing logged twice.
    assert anonymise_expired(timezone.now()) == 0
    assert Event.objects.filter(type="person.anonymised").count() == 1


def test_a_person_with_one_open_case_is_kept(settings, operator, network):
    settings.CASE_RETENTION_DAYS = 30
    old = closed_case(operator, network, "老王", "+8613800000091", closed_days_ago=400)
    services.open_case(operator, person=old.person, owning_organisation=network["hotline"])
    assert anonymise_expired(timezone.now()) == 0
    assert Person.objects.get(pk=old.person_id).name == "老王"


def test_batches_are_bounded(settings, operator, network):
    settings.CASE_RETENTION_DAYS = 30
    for i in range(3):
        closed_case(operator, network, f"人{i}", f"+861380000009{i}", closed_days_ago=40)
    assert anonymise_expired(timezone.now(), batch=2) == 2
    assert anonymise_expired(timezone.now(), batch=2) == 1
    assert anonymise_expired(timezone.now(), batch=2) == 0


def test_notes_are_ciphertext_in_the_database_and_plain_to_the_orm_and_page(
    operator, coordinator, hotline_case
):
    services.update_person(operator, hotline_case.person, notes="曾服药过量")
    with connection.cursor() as cursor:
        cursor.execute("SELECT notes FROM hotline_person WHERE id = %s", [hotline_case.person_id])
        raw = cursor.fetchone()[0]
    assert "曾服药过量" not in raw and raw.startswith("gAAAA")  # a Fernet token
    assert Person.objects.get(pk=hotline_case.person_id).notes == "曾服药过量"
    client = Client()
    client.force_login(coordinator)
    assert "曾服药过量" in client.get(f"/care/cases/{hotline_case.pk}/").content.decode()


def test_empty_triage_notes_stay_empty_not_null(db):
    field = Triage._meta.get_field("notes")
    assert field.get_prep_value("") == ""
    assert field.get_prep_value("x") != "x"


def test_deploy_check_refuses_the_embedded_encryption_key(settings):
    from core.encryption import check_field_encryption_key

    assert [e.id for e in check_field_encryption_key(None)] == ["core.E101"]
    settings.SALT_KEY = ["x" * 40]
    assert check_field_encryption_key(None) == []


def test_anonymising_scrubs_the_profile_numbers_flags_drafts_and_safety_plan(
    settings, operator, network
):
    from hotline.models import (
        Call,
        PersonPhone,
        SafetyPlanMessage,
        SafetyPlanVersion,
        TriageDraft,
    )
    from hotline.services.people import set_flag
    from hotline.services.safety_plans import blank_plan, save_version

    settings.CASE_RETENTION_DAYS = 30
    person = services.create_person(operator, name="老王", phone="+8613800000093")
    Person.objects.filter(pk=person.pk).update(alias="王哥")
    PersonPhone.objects.create(person=person, number="+8613800000094", label="家里")
    case = services.open_case(operator, person=person, owning_organisation=network["hotline"])
    set_flag(operator, person, kind="frequent_caller", reason="每晚来电，诉说孤独")
    call = Call.objects.create(
        call_sid="CA-retention",
        hotline=network["hotline"],
        person=person,
        case=case,
        from_number="+8613800000093",
        from_raw="+86 138 0000 0093",
        status="in_progress",
        operator=operator,
    )
    TriageDraft.objects.create(call=call, operator=operator, answers='{"notes": "想结束生命"}')
    plan = blank_plan()
    plan["reasons"] = ["女儿还小"]
    version = save_version(operator, case, plan)
    SafetyPlanMessage.objects.create(
        version=version, sent_by=operator, to="+8613800000093", body="你的安全计划：女儿还小"
    )
    Case.objects.filter(pk=case.pk).update(
        stage="closed", closed_at=timezone.now() - timedelta(days=40)
    )

    assert anonymise_expired(timezone.now()) == 1

    person.refresh_from_db()
    assert (person.name, person.alias, str(person.phone)) == ("", "", "")
    assert not PersonPhone.objects.filter(person=person).exists()
    assert person.flags.get().reason == ""
    call.refresh_from_db()
    assert (str(call.from_number), call.from_raw) == ("", "")
    assert not TriageDraft.objects.filter(call=call).exists()
    assert SafetyPlanVersion.objects.get(pk=version.pk).sections == "{}"
    message = SafetyPlanMessage.objects.get(version=version)
    assert (str(message.to), message.body) == ("", "")
