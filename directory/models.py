"""The care network: regions, organisations, staff and their roles (the reference data)."""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField


class RegionLevel(models.TextChoices):
    CITY = "city", _("City")
    DISTRICT = "district", _("District/county")
    TOWNSHIP = "township", _("Township/street")
    VILLAGE = "village", _("Village/community")


LEVEL_DEPTH = {
    RegionLevel.CITY: 0,
    RegionLevel.DISTRICT: 1,
    RegionLevel.TOWNSHIP: 2,
    RegionLevel.VILLAGE: 3,
}


class Region(models.Model):
    """A node of the city -> district/county -> township -> village/community tree (GB/T 2260)."""

    code = models.CharField(_("administrative code"), max_length=12, unique=True)
    name = models.CharField(_("name"), max_length=100)
    level = models.CharField(_("level"), max_length=10, choices=RegionLevel.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    # First letters of the name's pinyin ("yhsq" for 月河社区): the operator's picker finds a
    # place by typing them, as dispatchers do.
    pinyin_initials = models.CharField(_("pinyin initials"), max_length=30, blank=True)
    # Materialised path of codes ("330500/330502/"), so a subtree is one indexed prefix query.
    path = models.CharField(max_length=80, editable=False, db_index=True)

    class Meta:
        ordering = ["path"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.path = (self.parent.path if self.parent else "") + self.code + "/"
        super().save(*args, **kwargs)

    def ancestors(self) -> list["Region"]:
        """This region and its parents, from the city down."""
        codes = [c for c in self.path.split("/") if c]
        by_code = {r.code: r for r in Region.objects.filter(code__in=codes)}
        return [by_code[c] for c in codes if c in by_code]

    def ancestor_at(self, level: str) -> "Region | None":
        return next((r for r in self.ancestors() if r.level == level), None)

    def district(self) -> "Region | None":
        """The district/county (区县) this region lies in: itself for a district, None for the
        city. The one district rule: cases keep it (``Case.district``) and the dashboard counts
        by it."""
        return self.ancestor_at(RegionLevel.DISTRICT)

    def subtree(self):
        return Region.objects.filter(path__startswith=self.path)


class OrganisationKind(models.TextChoices):
    HOTLINE_CENTRE = "hotline_centre", _("Hotline centre")
    COUNSELLING_CENTRE = "counselling_centre", _("Counselling centre")
    HOSPITAL = "hospital", _("Hospital (diagnosis and treatment centre)")
    CONSORTIUM_HOSPITAL = "consortium_hospital", _("Consortium hospital")
    POLICE = "police", _("Police command (110)")
    AMBULANCE = "ambulance", _("Ambulance dispatch (120)")
    COMMUNITY = "community", _("Community committee")
    SCHOOL = "school", _("School")
    GUIDANCE_CENTRE = "guidance_centre", _("District guidance centre")
    TOWNSHIP_STATION = "township_station", _("Township station")
    CARE_GROUP = "care_group", _("Care group")
    EXPERT_POOL = "expert_pool", _("Expert pool")


class Capability(models.TextChoices):
    """What an organisation can take; referrals and dispatch choose receivers by these."""

    HOTLINE = "hotline", _("24-hour hotline")
    COUNSELLING = "counselling", _("Offline counselling")
    APPOINTMENT_LINE = "appointment_line", _("Appointment line")
    YOUTH_WARD = "youth_ward", _("Youth psychiatric ward")
    SELF_HARM_CLINIC = "self_harm_clinic", _("Self-harm/suicide intervention clinic")
    OUTPATIENT = "outpatient", _("Psychiatric outpatient")
    EMERGENCY_RESPONSE = "emergency_response", _("Emergency response")
    FOLLOW_UP = "follow_up", _("Follow-up visits")
    PSYCHIATRIC_EXPERT = "psychiatric_expert", _("Psychiatric experts on duty")


class Organisation(models.Model):
    code = models.SlugField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=150)
    kind = models.CharField(_("kind"), max_length=30, choices=OrganisationKind.choices)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="organisations")
    duty_phone = PhoneNumberField(_("duty phone"), blank=True)
    capabilities = models.JSONField(_("capabilities"), default=list, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["kind", "name"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        indexes = [models.Index(fields=["kind", "region"])]

    def __str__(self) -> str:
        return self.name

    def has_capability(self, capability: str) -> bool:
        return capability in self.capabilities


class Role(models.TextChoices):
    OPERATOR = "operator", _("Hotline operator")
    COUNSELLOR = "counsellor", _("Counsellor")
    HOSPITAL_STAFF = "hospital_staff", _("Hospital staff")
    COORDINATOR = "coordinator", _("Coordinator")
    EXPERT = "expert", _("Expert")
    RESPONDER = "responder", _("Responder")
    DECISION_MAKER = "decision_maker", _("Decision maker")
    ADMINISTRATOR = "administrator", _("Administrator")


class User(AbstractUser):
    """A member of staff. Phone and SIP are where calls and alerts reach them."""

    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    phone = PhoneNumberField(_("mobile phone"), blank=True)
    desk_phone = PhoneNumberField(_("desk phone"), blank=True)
    sip_address = models.CharField(_("SIP address"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username


class MembershipQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True, organisation__is_active=True)


class Membership(models.Model):
    """A role a staff member holds in one organisation; permissions are decided on these."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organisation", "role"], name="unique_membership_role"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} - {self.get_role_display()} @ {self.organisation}"
