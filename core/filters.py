"""Shared pieces of the API's list filters (django-filter): every query value is a form field,
so a bad one is a 400 with field errors and the schema documents each filter."""

from django import forms
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema_field

# The largest id PostgreSQL's bigint holds: a larger number is a bad request, not a DataError.
MAX_ID = 2**63 - 1


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": 2**63 - 1})
class IdFilter(filters.NumberFilter):
    """A row id: a whole number from 1 to the largest bigint."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class FlagFilter(filters.BooleanFilter):
    """``?name=1`` (or ``true``) narrows the list; ``0``/``false`` or absent leaves it whole."""

    def __init__(self, *args, only, **kwargs):
        self.only = only
        super().__init__(*args, method=self.narrow, **kwargs)

    def narrow(self, queryset, name, value):
        return self.only(queryset) if value else queryset
