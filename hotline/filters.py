"""List filters of the hotline API (django-filter: validated, and documented in the schema)."""

from django_filters import rest_framework as filters

from core.filters import FlagFilter
from hotline.models import Case


class CaseFilter(filters.FilterSet):
    open = FlagFilter(only=lambda qs: qs.open(), help_text="1: only open cases")

    class Meta:
        model = Case
        fields = ["stage", "risk"]
