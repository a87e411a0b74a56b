"""List filters of the directory API (django-filter: validated, and documented in the schema)."""

from django.core.exceptions import ValidationError
from django.db.models import Q
from django_filters import rest_framework as filters

from directory.models import Organisation, Region

CODE_LENGTH = Region._meta.get_field("code").max_length


def _region(code: str, name: str) -> Region:
    region = Region.objects.filter(code=code).first()
    if region is None:
        raise ValidationError({name: [f"Unknown region code: {code}"]})
    return region


class RegionFilter(filters.FilterSet):
    parent = filters.CharFilter(
        field_name="parent__code",
        max_length=CODE_LENGTH,
        help_text="administrative code of the parent",
    )
    within = filters.CharFilter(
        method="filter_within",
        max_length=CODE_LENGTH,
        help_text="administrative code of an ancestor (and the region itself)",
    )
    q = filters.CharFilter(
        method="filter_q", max_length=50, help_text="part of the name, or its pinyin initials"
    )

    class Meta:
        model = Region
        fields = ["level"]

    def filter_within(self, queryset, name, value):
        return queryset.filter(path__startswith=_region(value, name).path)

    def filter_q(self, queryset, name, value):
        q = value.strip()
        if not q:
            return queryset
        return queryset.filter(Q(name__contains=q) | Q(pinyin_initials__istartswith=q))


class OrganisationFilter(filters.FilterSet):
    region = filters.CharFilter(
        method="filter_region",
        max_length=CODE_LENGTH,
        help_text="administrative code of a region: organisations in it and below",
    )

    class Meta:
        model = Organisation
        fields = ["kind"]

    def filter_region(self, queryset, name, value):
        return queryset.filter(region__path__startswith=_region(value, name).path)
