"""List filters of the escalation API (django-filter: validated, and documented in the schema)."""

from django_filters import rest_framework as filters

from core.filters import FlagFilter, IdFilter
from escalation.kinds import AlertKind
from escalation.models import Alert, Dispatch


class DispatchFilter(filters.FilterSet):
    case = IdFilter(field_name="case_id", help_text="only this case's dispatches")

    class Meta:
        model = Dispatch
        fields = ["status"]


class AlertFilter(filters.FilterSet):
    open = FlagFilter(
        only=lambda qs: qs.exclude(state="resolved"), help_text="1: only unresolved alerts"
    )
    kind = filters.ChoiceFilter(choices=AlertKind.choices, help_text="see docs/alerts.md")
    case = IdFilter(field_name="case_id", help_text="only this case's alerts")

    class Meta:
        model = Alert
        fields = ["state"]
