"""List filters of the escalation API (django-filter: validated, and documented in the schema)."""

from django_filters import rest_framework as filters

from core.filters import FlagFilter
from escalation.models import Alert, Dispatch


class DispatchFilter(filters.FilterSet):
    class Meta:
        model = Dispatch
        fields = ["status"]


class AlertFilter(filters.FilterSet):
    open = FlagFilter(
        only=lambda qs: qs.exclude(state="resolved"), help_text="1: only unresolved alerts"
    )

    class Meta:
        model = Alert
        fields = []
