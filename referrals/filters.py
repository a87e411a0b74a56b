"""List filters of the referrals API (django-filter: validated, and documented in the schema)."""

from django.utils import timezone
from django_filters import rest_framework as filters

from core.filters import FlagFilter, IdFilter
from hotline.selectors import case_organisation_ids
from referrals import selectors
from referrals.models import Appointment, CounsellorSlot, HospitalSlot, Referral


class ReferralFilter(filters.FilterSet):
    direction = filters.ChoiceFilter(
        choices=[("incoming", "incoming"), ("outgoing", "outgoing")],
        method="filter_direction",
        help_text="incoming: sent to the user's organisations; outgoing: sent by them",
    )
    case = IdFilter(field_name="case_id")
    overdue = FlagFilter(
        only=lambda qs: qs.filter(
            pk__in=selectors.overdue_referrals(timezone.now()).values("pk")
        ).order_by("ack_due_at"),
        help_text="1: only referrals past their acknowledgement deadline, soonest first",
    )
    active = FlagFilter(
        only=lambda qs: qs.active(),
        help_text="1: only open referrals (sent, acknowledged, pre-assessed, scheduled, attended):"
        " those the disposition 'continue the existing referral' can continue",
    )

    class Meta:
        model = Referral
        fields = ["state", "kind"]

    def filter_direction(self, queryset, name, value):
        orgs = case_organisation_ids(self.request.user)
        side = "receiver__in" if value == "incoming" else "sender__in"
        return queryset.filter(**{side: orgs})


class HospitalSlotFilter(filters.FilterSet):
    hospital = IdFilter(field_name="hospital_id")

    class Meta:
        model = HospitalSlot
        fields = ["service"]


class AppointmentFilter(filters.FilterSet):
    class Meta:
        model = Appointment
        fields = ["status"]


class SlotFilter(filters.FilterSet):
    free = FlagFilter(
        only=lambda qs: qs.filter(starts_at__gte=timezone.now()).exclude(
            appointments__status__in=["booked", "attended", "no_show"]
        ),
        help_text="1: only unbooked slots in the future",
    )

    class Meta:
        model = CounsellorSlot
        fields = []
