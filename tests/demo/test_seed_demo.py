import phonenumbers
from django.core.management import call_command
from django.utils import timezone

from directory.models import Membership, Organisation, Region, User
from escalation.models import DutyShift
from hotline.models import Case, Person, Shift
from realtime.models import Event
from referrals.models import CounsellorSlot, HospitalSlot


def _counts():
    return [
        m.objects.count() for m in (Region, Organisation, User, Membership, Person, Case, Event)
    ]


def test_seed_demo_builds_the_huzhou_network_and_running_it_twice_changes_nothing(db, settings):
    settings.DEMO_PASSWORD = "demo-pass-123"
    call_command("seed_demo")
    first = _counts()
    call_command("seed_demo")
    assert _counts() == first

    city = Region.objects.get(code="330500")
    assert {r.code for r in city.children.all()} == {
        "330502",
        "330503",
        "330521",
        "330522",
        "330523",
    }
    assert Organisation.objects.filter(kind="police", region__level="district").count() == 5
    # One key with no place known goes to the city's 110 command centre and 120 dispatch centre.
    assert Organisation.objects.filter(kind="police", region=city).count() == 1
    assert Organisation.objects.filter(kind="ambulance", region=city).count() == 1
    assert Region.objects.get(code="330502001001").pinyin_initials == "yhsq"
    assert not Region.objects.filter(pinyin_initials="").exists()
    assert (
        Organisation.objects.filter(kind="guidance_centre", region__level="district").count() == 5
    )
    assert Organisation.objects.filter(kind="ambulance").count() == 1
    hospital = Organisation.objects.get(kind="hospital")
    assert {"youth_ward", "self_harm_clinic"} <= set(hospital.capabilities)
    for username in (
        "operator1",
        "operator2",
        "counsellor1",
        "counsellor2",
        "nurse1",
        "coordinator1",
        "leader1",
        "admin",
    ):
        assert User.objects.get(username=username).check_password("demo-pass-123")
    assert Case.objects.open().count() == 4
    assert set(Case.objects.values_list("stage", flat=True)) == {
        "discovery",
        "intervention",
        "treatment",
        "follow_up",
    }


def test_the_demo_is_staffed_now_and_has_bookable_time(db):
    call_command("seed_demo")
    now = timezone.now()
    assert Shift.objects.filter(starts_at__lte=now, ends_at__gt=now).count() == 1  # 24-hour line
    on_duty = DutyShift.objects.filter(starts_at__lte=now, ends_at__gt=now)
    assert set(on_duty.values_list("role", flat=True)) == {"coordinator", "expert"}
    assert HospitalSlot.objects.filter(starts_at__gt=now).exists()
    assert CounsellorSlot.objects.filter(starts_at__gt=now).exists()
    for org in Organisation.objects.exclude(duty_phone=""):
        assert phonenumbers.is_valid_number(org.duty_phone), (org.name, org.duty_phone)
    assert not Organisation.objects.filter(kind__in=["police", "community"], duty_phone="").exists()


def test_the_demo_operators_start_available(db):
    from hotline.models import OperatorPresence, PresenceStatus

    call_command("seed_demo")
    statuses = dict(
        OperatorPresence.objects.filter(user__username__startswith="operator").values_list(
            "user__username", "status"
        )
    )
    assert statuses == {
        "operator1": PresenceStatus.AVAILABLE,
        "operator2": PresenceStatus.AVAILABLE,
        "operator12356": PresenceStatus.AVAILABLE,
    }
