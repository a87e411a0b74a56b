"""List filters of the clinics API (django-filter: validated, and documented in the schema)."""

from django.utils import timezone
from django_filters import rest_framework as filters

from clinics.models import Admission, FollowUp
from core.filters import FlagFilter, IdFilter


class AdmissionFilter(filters.FilterSet):
    class Meta:
        model = Admission
        fields = ["state"]


class FollowUpFilter(filters.FilterSet):
    case = IdFilter(field_name="case_id")
    due = FlagFilter(
        only=lambda qs: qs.filter(state="scheduled", due_at__lte=timezone.now()),
        help_text="1: only follow-ups due now",
    )

    class Meta:
        model = FollowUp
        fields = ["state"]
