"""Load the Huzhou-shaped demo network, users named by role and sample cases. Idempotent."""

import base64
from datetime import time, timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from demo import data as demo
from directory.models import Membership, Organisation, OrganisationKind, Region, RegionLevel, User
from escalation.models import DutyShift
from hotline import services
from hotline.models import CentreRouting, HotlineLine, Person, PresenceStatus, Shift
from prevention import services as prevention
from prevention.models import Campaign
from referrals.models import CounsellorSlot, HospitalSlot

DEFAULT_DEMO_PASSWORD = "huzhou-2251885"


class Command(BaseCommand):
    help = "Load the demo network (regions, organisations, users, sample cases). Safe to re-run."

    def handle(self, *args, **options):
        password = settings.DEMO_PASSWORD or DEFAULT_DEMO_PASSWORD
        with transaction.atomic():
            regions = self._regions()
            orgs = self._organisations(regions)
            self._routing(orgs)
            users = self._users(orgs, password)
            self._cases(users["admin"], orgs, regions)
            self._rosters(users, orgs)
            self._slots(users, orgs)
            self._operators_available(users)
            self._screening(users, orgs)
        self.stdout.write(self.style.SUCCESS("Demo network ready."))
        self.stdout.write(f"Demo log-ins (password: {password}):")
        for username, _name, org_code, role, _superuser in demo.USERS:
            self.stdout.write(f"  {username:<13} {role:<15} {orgs[org_code].name}")
        key = base64.b32encode(bytes.fromhex(demo.ADMIN_TOTP_KEY)).decode()
        self.stdout.write(f"admin also asks for a two-step code: add the key {key} to an app.")

    def _region(self, code, name, level, parent):
        initials = demo.PINYIN_INITIALS.get(name, "")
        region, _ = Region.objects.get_or_create(
            code=code,
            defaults={"name": name, "level": level, "parent": parent, "pinyin_initials": initials},
        )
        if not region.pinyin_initials and initials:  # a network seeded before the picker
            region.pinyin_initials = initials
            region.save(update_fields=["pinyin_initials"])
        return region

    def _regions(self) -> dict[str, Region]:
        regions = {}
        city = self._region(*demo.CITY, RegionLevel.CITY, None)
        regions[city.code] = city
        for code, name, townships in demo.DISTRICTS:
            district = self._region(code, name, RegionLevel.DISTRICT, city)
            regions[code] = district
            for t_code, t_name, villages in townships:
                township = self._region(t_code, t_name, RegionLevel.TOWNSHIP, district)
                regions[t_code] = township
                for v_code, v_name in villages:
                    regions[v_code] = self._region(v_code, v_name, RegionLevel.VILLAGE, township)
        return regions

    def _org(self, code, name, kind, region, phone="", capabilities=(), address=""):
        org, _ = Organisation.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "kind": kind,
                "region": region,
                "duty_phone": phone,
                "capabilities": list(capabilities),
                "address": address,
            },
        )
        return org

    def _organisations(self, regions) -> dict[str, Organisation]:
        orgs = {}
        for code, name, kind, region, phone, caps, address in demo.CENTRES:
            orgs[code] = self._org(code, name, kind, regions[region], phone, caps, address)
        for d_code, d_name, townships in demo.DISTRICTS:
            district = regions[d_code]
            orgs[f"police-{d_code}"] = self._org(
                f"police-{d_code}",
                f"{d_name}公安110指挥中心",
                OrganisationKind.POLICE,
                district,
                phone=f"+8657221{d_code[-2:]}110",  # illustrative duty lines
                capabilities=["emergency_response"],
            )
            orgs[f"guidance-{d_code}"] = self._org(
                f"guidance-{d_code}",
                f"{d_name}社会心理服务指导中心",
                OrganisationKind.GUIDANCE_CENTRE,
                district,
            )
            if d_code in demo.CONSORTIUM:
                orgs[f"consortium-{d_code}"] = self._org(
                    f"consortium-{d_code}",
                    demo.CONSORTIUM[d_code],
                    OrganisationKind.CONSORTIUM_HOSPITAL,
                    district,
                    capabilities=["outpatient", "follow_up"],
                )
            for t_code, t_name, villages in townships:
                orgs[f"station-{t_code}"] = self._org(
                    f"station-{t_code}",
                    f"{t_name}社会心理服务站",
                    OrganisationKind.TOWNSHIP_STATION,
                    regions[t_code],
                    capabilities=["follow_up"],
                )
                for v_code, v_name in villages:
                    committee = "村民委员会" if v_name.endswith("村") else "居民委员会"
                    orgs[f"community-{v_code}"] = self._org(
                        f"community-{v_code}",
                        f"{v_name}{committee}",
                        OrganisationKind.COMMUNITY,
                        regions[v_code],
                        phone=f"+865723{v_code[-6:]}",
                        capabilities=["emergency_response", "follow_up"],
                    )
        return orgs

    def _routing(self, orgs) -> None:
        """Each centre's numbers and when its calls overflow to its partner (issue 21)."""
        for number, code in demo.HOTLINE_LINES:
            HotlineLine.objects.get_or_create(number=number, defaults={"organisation": orgs[code]})
        for code, partner, all_day, opens, closes, after, longest in demo.CENTRE_ROUTING:
            CentreRouting.objects.get_or_create(
                centre=orgs[code],
                defaults={
                    "partner": orgs[partner] if partner else None,
                    "open_24h": all_day,
                    "opens_at": time.fromisoformat(opens) if opens else None,
                    "closes_at": time.fromisoformat(closes) if closes else None,
                    "overflow_after_seconds": after,
                    "max_queue_length": longest,
                },
            )

    def _users(self, orgs, password) -> dict[str, User]:
        users = {}
        for username, name, org_code, role, superuser in demo.USERS:
            user, created = User.objects.get_or_create(
                username=username,
                defaults={"display_name": name, "is_staff": superuser, "is_superuser": superuser},
            )
            if created:
                user.set_password(password)
                user.save()
            Membership.objects.get_or_create(user=user, organisation=orgs[org_code], role=role)
            if superuser:  # administrators must enter a second factor: a known demo device
                TOTPDevice.objects.get_or_create(
                    user=user,
                    name="demo",
                    defaults={"key": demo.ADMIN_TOTP_KEY, "confirmed": True},
                )
            users[username] = user
        return users

    def _operators_available(self, users) -> None:
        """A newcomer's first call should ring: the demo operators start available (through the
        operators' own service; one who never opens a console still gets offers, which lapse)."""
        for username, _name, _org, role, _superuser in demo.USERS:
            if role == "operator":
                services.set_presence(users[username], status=PresenceStatus.AVAILABLE)

    def _cases(self, actor, orgs, regions) -> None:
        hotline = orgs["hotline-centre"]
        for phone, name, anonymous, birth_year, village, stage, risk, summary in demo.SAMPLE_CASES:
            if Person.objects.filter(phone=phone).exists():
                continue
            person = services.create_person(
                actor,
                name=name,
                is_anonymous=anonymous,
                phone=phone,
                birth_year=birth_year,
                home_region=regions[village],
            )
            case = services.open_case(
                actor, person=person, owning_organisation=hotline, risk=risk, summary=summary
            )
            if stage != "discovery":
                services.advance_case(actor, case, stage, reason="demo history")

    def _days(self):
        """Local midnights from yesterday to a week ahead: the demo's roster and slots."""
        today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
        return [today + timedelta(days=n) for n in range(-1, 8)]

    def _rosters(self, users, orgs) -> None:
        """A 24-hour hotline (two 12-hour shifts a day), an on-duty coordinator and expert."""
        hotline = orgs["hotline-centre"]
        for day in self._days():
            for user, start_hour, duty_role in (
                (users["operator1"], 8, "volunteer"),
                (users["operator2"], 20, "doctor"),
            ):
                starts = day + timedelta(hours=start_hour)
                Shift.objects.get_or_create(
                    hotline=hotline,
                    user=user,
                    starts_at=starts,
                    defaults={"ends_at": starts + timedelta(hours=12), "duty_role": duty_role},
                )
            for user, org, role in (
                (users["coordinator1"], hotline, "coordinator"),
                (users["expert1"], orgs["expert-pool"], "expert"),
            ):
                DutyShift.objects.get_or_create(
                    user=user,
                    organisation=org,
                    role=role,
                    starts_at=day,
                    defaults={"ends_at": day + timedelta(days=1)},
                )

    def _slots(self, users, orgs) -> None:
        """Counsellors' hours on working days, and the hospital's green-channel service slots."""
        now = timezone.now()
        for day in self._days():
            if day < now - timedelta(days=1):
                continue
            for username in ("counsellor1", "counsellor2"):
                if day.weekday() >= 5:
                    continue
                for hour in (9, 10, 11, 14, 15, 16):
                    starts = day + timedelta(hours=hour)
                    CounsellorSlot.objects.get_or_create(
                        counsellor=users[username],
                        starts_at=starts,
                        defaults={
                            "organisation": orgs["counselling-centre"],
                            "ends_at": starts + timedelta(minutes=50),
                        },
                    )
            for service, hour, capacity in (("youth_ward", 9, 2), ("self_harm_clinic", 14, 3)):
                starts = day + timedelta(hours=hour)
                HospitalSlot.objects.get_or_create(
                    hospital=orgs["third-hospital"],
                    service=service,
                    starts_at=starts,
                    defaults={"ends_at": starts + timedelta(hours=3), "capacity": capacity},
                )

    def _screening(self, users, orgs) -> None:
        """A school's screening campaign running this month, with one class of slips."""
        name, group, count = demo.DEMO_CAMPAIGN
        if Campaign.objects.filter(name=name).exists():
            return
        today = timezone.localdate()
        school = orgs["demo-school"]
        campaign = prevention.create_campaign(
            users["teacher1"],
            name=name,
            organisation=school,
            questionnaires=["phq9", "gad7"],
            starts_on=today - timedelta(days=1),
            ends_on=today + timedelta(days=30),
            follow_up_organisation=school,
            follow_up_user=users["teacher1"],
        )
        prevention.add_slips(users["teacher1"], campaign, group=group, count=count)
