"""REST API of the prevention stage: campaigns (with slips and counts), flagged students'
tasks (acknowledge, done) and outreach activities. Access follows ``prevention.selectors``."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from core.api import ModelSerializer
from directory.access import is_administrator
from directory.models import Organisation, Region, User
from prevention import selectors, services
from prevention.models import Campaign, OutreachActivity, ScreeningTask


def _staff(request):
    if not is_administrator(request.user) and not selectors.campaign_staff_org_ids(request.user):
        raise PermissionDenied()


class CampaignSerializer(ModelSerializer):
    organisation = serializers.PrimaryKeyRelatedField(queryset=Organisation.objects.all())
    follow_up_organisation = serializers.PrimaryKeyRelatedField(queryset=Organisation.objects.all())
    follow_up_user = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), required=False, allow_null=True
    )
    questionnaires = serializers.ListField(child=serializers.CharField(max_length=10))
    figures = serializers.SerializerMethodField()
    groups = serializers.SerializerMethodField()

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "organisation",
            "questionnaires",
            "starts_on",
            "ends_on",
            "consent_rule",
            "records_names",
            "follow_up_organisation",
            "follow_up_user",
            "closed_at",
            "figures",
            "groups",
        ]
        read_only_fields = ["id", "closed_at", "figures", "groups"]

    def get_figures(self, obj) -> dict:
        row = selectors.campaign_figures([obj])[0]
        return {k: row[k] for k in ("invited", "answered", "flagged", "followed_up_in_time")}

    def get_groups(self, obj) -> list[dict]:
        return [{"id": g.pk, "name": g.name} for g in obj.groups.all()]


class SlipSerializer(serializers.Serializer):
    """A slip as made: its one-time code for the printout."""

    id = serializers.IntegerField()
    code = serializers.CharField()
    group = serializers.CharField()
    label = serializers.CharField()


class SlipsSerializer(serializers.Serializer):
    group = serializers.CharField(max_length=100)
    count = serializers.IntegerField(required=False, default=0, min_value=0)
    labels = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, default=list
    )


class CampaignViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """筛查活动: campaigns of the user's school or centre, with counts only."""

    serializer_class = CampaignSerializer
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema's generation: no user
            return Campaign.objects.none()
        _staff(self.request)
        return selectors.visible_campaigns(self.request.user).select_related("organisation__region")

    def perform_create(self, serializer):
        serializer.instance = services.create_campaign(
            self.request.user, **serializer.validated_data
        )

    @extend_schema(request=SlipsSerializer, responses={201: SlipSerializer(many=True)})
    @action(detail=True, methods=["post"])
    def slips(self, request, pk=None):
        """One-time slips for a class: ``count`` unnamed or one per name in ``labels``."""
        campaign = self.get_object()
        body = SlipsSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        made = services.add_slips(request.user, campaign, **body.validated_data)
        return Response(
            [{"id": s.pk, "code": s.code, "group": s.group.name, "label": s.label} for s in made],
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=None, responses=CampaignSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        campaign = services.close_campaign(request.user, self.get_object())
        return Response(CampaignSerializer(campaign).data)


class TaskSerializer(ModelSerializer):
    campaign = serializers.IntegerField(source="participation.campaign_id", read_only=True)
    group = serializers.CharField(source="participation.group.name", read_only=True)
    stage = serializers.CharField(source="case.stage", read_only=True)
    scores = serializers.SerializerMethodField()

    class Meta:
        model = ScreeningTask
        fields = [
            "id",
            "case",
            "campaign",
            "group",
            "organisation",
            "assignee",
            "reason",
            "state",
            "stage",
            "scores",
            "due_at",
            "acknowledged_at",
            "done_at",
            "note",
        ]
        read_only_fields = fields

    def get_scores(self, obj) -> dict:
        r = getattr(obj.participation, "response", None)
        if r is None:
            return {}
        return {"phq9": r.phq9_total, "phq9_item9": r.phq9_item9, "gad7": r.gad7_total}


class DoneSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000)


class TaskViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Flagged students (筛查预警): the user's organisation's tasks and its own campaigns'."""

    serializer_class = TaskSerializer
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ScreeningTask.objects.none()
        _staff(self.request)
        return selectors.visible_tasks(self.request.user).select_related("participation__response")

    @extend_schema(request=None, responses=TaskSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        task = services.acknowledge_task(request.user, self.get_object())
        return Response(TaskSerializer(task).data)

    @extend_schema(request=DoneSerializer, responses=TaskSerializer)
    @action(detail=True, methods=["post"])
    def done(self, request, pk=None):
        body = DoneSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        task = services.finish_task(
            request.user, self.get_object(), note=body.validated_data["note"]
        )
        return Response(TaskSerializer(task).data)


class ActivitySerializer(ModelSerializer):
    region = serializers.PrimaryKeyRelatedField(queryset=Region.objects.all())
    organisation = serializers.PrimaryKeyRelatedField(queryset=Organisation.objects.all())

    class Meta:
        model = OutreachActivity
        fields = [
            "id",
            "kind",
            "scene",
            "title",
            "region",
            "district",
            "organisation",
            "held_on",
            "led_by",
            "reached",
        ]
        read_only_fields = ["id", "district"]


class ActivityViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """宣教活动: talks, classes and community sessions of the user's organisations."""

    serializer_class = ActivitySerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return OutreachActivity.objects.none()
        _staff(self.request)
        return selectors.visible_activities(self.request.user)

    def perform_create(self, serializer):
        _staff(self.request)
        serializer.instance = services.record_activity(
            self.request.user, **serializer.validated_data
        )
