"""Read-only REST API of the directory: regions and organisations, and who am I."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import api_view
from rest_framework.response import Response

from core.api import ModelSerializer
from directory.access import is_administrator, memberships
from directory.filters import OrganisationFilter, RegionFilter
from directory.models import Organisation, Region


class RegionSerializer(ModelSerializer):
    parent_code = serializers.CharField(
        source="parent.code", read_only=True, default=None, allow_null=True
    )
    label = serializers.SerializerMethodField()

    class Meta:
        model = Region
        fields = [
            "id",
            "code",
            "name",
            "level",
            "parent",
            "parent_code",
            "pinyin_initials",
            "label",
        ]

    def get_label(self, region) -> str:
        """The place with its parents below the city ("吴兴区 / 月河街道 / 月河社区")."""
        names = self.context.get("names", {})
        codes = [c for c in region.path.split("/") if c][1:]
        return " / ".join(names.get(c, "") for c in codes) or region.name


class OrganisationSerializer(ModelSerializer):
    region_code = serializers.CharField(source="region.code", read_only=True)

    class Meta:
        model = Organisation
        fields = [
            "id",
            "code",
            "name",
            "kind",
            "region",
            "region_code",
            "duty_phone",
            "capabilities",
            "address",
        ]


class RegionViewSet(viewsets.ReadOnlyModelViewSet):
    """The region tree. Filter with ``?level=``, ``?parent=<code>`` or ``?within=<code>``."""

    serializer_class = RegionSerializer
    queryset = Region.objects.select_related("parent")
    filterset_class = RegionFilter
    lookup_value_regex = "[0-9]+"

    def get_serializer_context(self):
        # Labels name every ancestor: one query for all of them, not one per row.
        return {
            **super().get_serializer_context(),
            "names": dict(Region.objects.values_list("code", "name")),
        }


class OrganisationViewSet(viewsets.ReadOnlyModelViewSet):
    """Organisations of the network. Filter with ``?kind=``, ``?region=<code>`` (and below)."""

    serializer_class = OrganisationSerializer
    queryset = Organisation.objects.filter(is_active=True).select_related("region")
    filterset_class = OrganisationFilter
    lookup_value_regex = "[0-9]+"


class MembershipSerializer(serializers.Serializer):
    organisation = serializers.IntegerField(source="organisation_id")
    organisation_name = serializers.CharField(source="organisation.name")
    organisation_kind = serializers.CharField(source="organisation.kind")
    role = serializers.CharField()


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    display_name = serializers.CharField()
    is_administrator = serializers.BooleanField()
    memberships = MembershipSerializer(many=True)


@extend_schema(responses=MeSerializer)
@api_view(["GET"])
def me(request):
    """The signed-in user and the roles they hold."""
    user = request.user
    return Response(
        MeSerializer(
            {
                "id": user.pk,
                "username": user.get_username(),
                "display_name": str(user),
                "is_administrator": is_administrator(user),
                "memberships": list(memberships(user)),
            }
        ).data
    )
