"""REST API of the receiving organisations' work: sessions, admissions, follow-ups, plans."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from clinics import selectors, services
from clinics.filters import AdmissionFilter, FollowUpFilter
from clinics.models import (
    Admission,
    AssistancePlan,
    BreakGlass,
    CounsellingSession,
    FollowUp,
    FollowUpAttempt,
    MeasureKind,
    PlanMeasure,
)
from core.api import ModelSerializer, MomentField
from core.errors import NotFound
from directory.access import is_administrator
from directory.accounts import accounts_verified
from directory.models import Organisation, User
from hotline.api.audit import AuditedReads
from hotline.models import Case
from hotline.selectors import case_organisation_ids, visible_cases
from referrals.models import Appointment, CounsellorSlot, Referral
from referrals.selectors import visible_referrals


class SessionSerializer(ModelSerializer):
    appointment = serializers.PrimaryKeyRelatedField(queryset=Appointment.objects.all())
    referral = serializers.IntegerField(
        source="appointment.referral_id", read_only=True, allow_null=True
    )
    # Outcome "continue" books the course's next session: a slot, or a counsellor and a time.
    next_slot = serializers.PrimaryKeyRelatedField(
        queryset=CounsellorSlot.objects.all(), required=False, allow_null=True, write_only=True
    )
    next_counsellor = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), required=False, allow_null=True, write_only=True
    )
    next_starts_at = MomentField(required=False, allow_null=True, write_only=True)

    class Meta:
        model = CounsellingSession
        fields = [
            "id",
            "appointment",
            "referral",
            "case",
            "counsellor",
            "notes",
            "outcome",
            "held_at",
            "next_slot",
            "next_counsellor",
            "next_starts_at",
            "next_appointment",
        ]
        read_only_fields = ["id", "case", "counsellor", "held_at", "next_appointment"]


class SessionViewSet(
    AuditedReads, mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """咨询记录: notes and outcome of attended appointments at the user's centres."""

    serializer_class = SessionSerializer
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        qs = CounsellingSession.objects.all()
        if not is_administrator(self.request.user):
            qs = qs.filter(appointment__organisation__in=case_organisation_ids(self.request.user))
        return qs.order_by("-id")

    def perform_create(self, serializer):
        d = serializer.validated_data
        serializer.instance = services.record_session(
            self.request.user,
            d["appointment"],
            notes=d["notes"],
            outcome=d["outcome"],
            next_slot=d.get("next_slot"),
            next_counsellor=d.get("next_counsellor"),
            next_starts_at=d.get("next_starts_at"),
        )


class AdmissionSerializer(ModelSerializer):
    referral = serializers.PrimaryKeyRelatedField(queryset=Referral.objects.all())

    class Meta:
        model = Admission
        fields = [
            "id",
            "referral",
            "case",
            "hospital",
            "ward",
            "bed",
            "state",
            "admitted_by",
            "admitted_at",
            "discharged_at",
            "discharge_summary",
            "follow_up_plan",
        ]
        read_only_fields = [
            "id",
            "case",
            "hospital",
            "state",
            "admitted_by",
            "admitted_at",
            "discharged_at",
            "discharge_summary",
            "follow_up_plan",
        ]


class DischargeSerializer(serializers.Serializer):
    summary = serializers.CharField()
    follow_up_plan = serializers.CharField()


class AdmissionViewSet(
    AuditedReads, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """入院/出院 at the user's hospital."""

    serializer_class = AdmissionSerializer
    filterset_class = AdmissionFilter
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        return selectors.visible_admissions(self.request.user).order_by("-id")

    @extend_schema(request=AdmissionSerializer, responses={201: AdmissionSerializer})
    def create(self, request):
        body = AdmissionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        referral = body.validated_data["referral"]
        if not visible_referrals(request.user).filter(pk=referral.pk).exists():
            raise NotFound("No such referral.")
        admission = services.admit(
            request.user, referral, ward=body.validated_data["ward"], bed=body.validated_data["bed"]
        )
        return Response(AdmissionSerializer(admission).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=DischargeSerializer, responses=AdmissionSerializer)
    @action(detail=True, methods=["post"])
    def discharge(self, request, pk=None):
        admission = self.get_object()
        body = DischargeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        admission = services.discharge(request.user, admission, **body.validated_data)
        return Response(AdmissionSerializer(admission).data)


class AttemptSerializer(ModelSerializer):
    class Meta:
        model = FollowUpAttempt
        fields = ["id", "by", "at", "outcome", "notes"]
        read_only_fields = ["id", "by", "at"]


class FollowUpSerializer(ModelSerializer):
    case = serializers.PrimaryKeyRelatedField(queryset=Case.objects.all())
    attempts = AttemptSerializer(many=True, read_only=True)
    is_overdue = serializers.SerializerMethodField()
    person_name = serializers.CharField(source="case.person.__str__", read_only=True)

    class Meta:
        model = FollowUp
        fields = [
            "id",
            "case",
            "person_name",
            "organisation",
            "assignee",
            "reason",
            "sequence",
            "due_at",
            "is_overdue",
            "state",
            "failed_attempts",
            "outcome",
            "done_at",
            "attempts",
        ]
        read_only_fields = [
            "id",
            "reason",
            "sequence",
            "state",
            "failed_attempts",
            "outcome",
            "done_at",
        ]
        extra_kwargs = {"organisation": {"required": False}, "assignee": {"required": False}}

    def get_is_overdue(self, follow_up) -> bool:
        return follow_up.state == "scheduled" and follow_up.due_at <= timezone.now()


class FollowUpViewSet(
    AuditedReads,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """回访: follow-ups of the user's organisations; ``?due=1`` for those due now."""

    serializer_class = FollowUpSerializer
    filterset_class = FollowUpFilter
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return FollowUp.objects.none()
        qs = selectors.visible_follow_ups(self.request.user).prefetch_related("attempts")
        return qs.order_by("due_at", "id")

    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def perform_create(self, serializer):
        d = serializer.validated_data
        if not visible_cases(self.request.user).filter(pk=d["case"].pk).exists():
            raise NotFound("No such case.")
        serializer.instance = services.schedule_follow_up(
            self.request.user,
            d["case"],
            due_at=d["due_at"],
            organisation=d.get("organisation"),
            assignee=d.get("assignee"),
        )

    @extend_schema(request=AttemptSerializer, responses=FollowUpSerializer)
    @action(detail=True, methods=["post"])
    def attempts(self, request, pk=None):
        """Record a contact attempt; the third failure marks the person lost to follow-up."""
        follow_up = self.get_object()
        body = AttemptSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.record_attempt(request.user, follow_up, **body.validated_data)
        return Response(FollowUpSerializer(self.get_queryset().get(pk=follow_up.pk)).data)


class MeasureSerializer(ModelSerializer):
    kind = serializers.ChoiceField(choices=MeasureKind.choices)
    owner = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True))
    is_overdue = serializers.SerializerMethodField()

    class Meta:
        model = PlanMeasure
        fields = [
            "id",
            "kind",
            "description",
            "owner",
            "next_check_in",
            "last_check_in",
            "last_note",
            "done",
            "is_overdue",
        ]
        read_only_fields = ["id", "last_check_in", "last_note", "done"]

    def get_is_overdue(self, measure) -> bool:
        return bool(
            not measure.done and measure.next_check_in and measure.next_check_in <= timezone.now()
        )


class PlanSerializer(ModelSerializer):
    case = serializers.PrimaryKeyRelatedField(queryset=Case.objects.all())
    care_group = serializers.PrimaryKeyRelatedField(queryset=Organisation.objects.all())
    members = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), many=True, required=False
    )
    measures = MeasureSerializer(many=True, required=False)

    class Meta:
        model = AssistancePlan
        fields = ["id", "case", "care_group", "members", "goal", "state", "measures", "created_at"]
        read_only_fields = ["id", "state", "created_at"]


class CheckInSerializer(serializers.Serializer):
    measure = serializers.PrimaryKeyRelatedField(queryset=PlanMeasure.objects.all())
    note = serializers.CharField()
    next_check_in = MomentField(required=False, allow_null=True, default=None)
    done = serializers.BooleanField(default=False)


class PlanReasonSerializer(serializers.Serializer):
    reason = serializers.CharField()


class PlanViewSet(
    AuditedReads,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """一对一帮扶: assistance plans with measures, owners and check-in dates."""

    serializer_class = PlanSerializer
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return AssistancePlan.objects.none()
        return selectors.visible_plans(self.request.user).prefetch_related("measures", "members")

    def perform_create(self, serializer):
        d = dict(serializer.validated_data)
        if not visible_cases(self.request.user).filter(pk=d["case"].pk).exists():
            raise NotFound("No such case.")
        serializer.instance = services.create_plan(
            self.request.user,
            d["case"],
            care_group=d["care_group"],
            goal=d["goal"],
            members=d.get("members", []),
            measures=d.get("measures", []),
        )

    @extend_schema(request=MeasureSerializer, responses=PlanSerializer)
    @action(detail=True, methods=["post"])
    def measures(self, request, pk=None):
        plan = self.get_object()
        body = MeasureSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.add_measure(request.user, plan, **body.validated_data)
        return Response(PlanSerializer(self.get_queryset().get(pk=plan.pk)).data)

    @extend_schema(request=CheckInSerializer, responses=PlanSerializer)
    @action(detail=True, methods=["post"], url_path="check-in")
    def check_in(self, request, pk=None):
        plan = self.get_object()
        body = CheckInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        d = dict(body.validated_data)
        measure = d.pop("measure")
        if measure.plan_id != plan.pk:
            raise NotFound("No such measure in this plan.")
        services.check_in(request.user, measure, **d)
        return Response(PlanSerializer(self.get_queryset().get(pk=plan.pk)).data)

    @extend_schema(request=PlanReasonSerializer, responses=PlanSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        plan = self.get_object()
        body = PlanReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.close_plan(request.user, plan, reason=body.validated_data["reason"])
        return Response(PlanSerializer(self.get_queryset().get(pk=plan.pk)).data)


class BreakGlassSerializer(ModelSerializer):
    case = serializers.PrimaryKeyRelatedField(queryset=Case.objects.all())

    class Meta:
        model = BreakGlass
        fields = ["id", "case", "reason", "organisation", "at", "expires_at"]
        read_only_fields = ["id", "organisation", "at", "expires_at"]


class BreakGlassView(APIView):
    """Emergency read of any case by a coordinator, with a written reason (audited)."""

    @extend_schema(request=BreakGlassSerializer, responses={201: BreakGlassSerializer})
    def post(self, request):
        body = BreakGlassSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        record = services.break_glass(
            request.user,
            body.validated_data["case"],
            reason=body.validated_data["reason"],
            verified=accounts_verified(request),
        )
        return Response(BreakGlassSerializer(record).data, status=status.HTTP_201_CREATED)
