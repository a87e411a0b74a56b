"""REST API of a case's safety plan (安全计划): the current version and the list, a new version,
and the SMS of the plan to the caller."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import MomentField
from hotline import selectors
from hotline.models import SafetyPlanMessage
from hotline.services import record_read, safety_plans


class SafetyPlanContactSerializer(serializers.Serializer):
    name = serializers.CharField()
    phone = serializers.CharField(allow_blank=True, required=False)
    note = serializers.CharField(allow_blank=True, required=False)


class SafetyPlanSectionsSerializer(serializers.Serializer):
    """The seven sections of the Stanley-Brown plan."""

    warning_signs = serializers.ListField(child=serializers.CharField(), help_text="预警信号")
    coping = serializers.ListField(child=serializers.CharField(), help_text="自我应对")
    distractions = serializers.ListField(
        child=serializers.CharField(), help_text="分散注意力的人和场所"
    )
    helpers = SafetyPlanContactSerializer(many=True, help_text="可以求助的人")
    professionals = SafetyPlanContactSerializer(many=True, help_text="专业人员和机构")
    environment = serializers.ListField(child=serializers.CharField(), help_text="让环境更安全")
    reasons = serializers.ListField(child=serializers.CharField(), help_text="活下去的理由")


@extend_schema_field(SafetyPlanSectionsSerializer)
class SectionsField(serializers.JSONField):
    """The sections as JSON; the service checks them and answers each section's errors."""


class SafetyPlanVersionSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    created_at = MomentField()
    author = serializers.IntegerField(source="author_id")
    author_name = serializers.CharField(source="author.__str__")
    sms_consent = serializers.BooleanField()


class SafetyPlanCurrentSerializer(SafetyPlanVersionSerializer):
    sections = SectionsField(source="content")


class SafetyPlanMessageSerializer(serializers.Serializer):
    version = serializers.IntegerField(source="version.number")
    to = serializers.CharField()
    part = serializers.IntegerField()
    parts = serializers.IntegerField()
    status = serializers.CharField()
    sent_at = MomentField()


class SafetyPlanSerializer(serializers.Serializer):
    case = serializers.IntegerField()
    current = SafetyPlanCurrentSerializer(allow_null=True)
    versions = SafetyPlanVersionSerializer(many=True)
    blank = SectionsField(help_text="A new plan: the professionals and agencies prefilled.")
    messages = SafetyPlanMessageSerializer(many=True)


class SafetyPlanWriteSerializer(serializers.Serializer):
    sections = SectionsField()
    sms_consent = serializers.BooleanField(
        default=False, help_text="The caller consents to receive the plan by SMS."
    )


def plan_payload(case) -> dict:
    versions = list(case.safety_plan_versions.select_related("author").order_by("-number"))
    messages = (
        SafetyPlanMessage.objects.filter(version__case=case)
        .select_related("version")
        .order_by("-sent_at", "part")
    )
    return {
        "case": case.pk,
        "current": versions[0] if versions else None,
        "versions": versions,
        "blank": safety_plans.blank_plan(),
        "messages": list(messages[:50]),
    }


class SafetyPlanView(APIView):
    """A case's safety plan: read by whoever may see the case, written by whoever works on it."""

    def case(self, request, id):
        return get_object_or_404(selectors.visible_cases(request.user), pk=id)

    @extend_schema(responses=SafetyPlanSerializer)
    def get(self, request, id: int):
        case = self.case(request, id)
        record_read(request.user, what="safety_plan.read", case_ids=[case.pk])
        return Response(SafetyPlanSerializer(plan_payload(case)).data)

    @extend_schema(request=SafetyPlanWriteSerializer, responses={201: SafetyPlanSerializer})
    def post(self, request, id: int):
        """Save the plan as a new version (earlier versions are kept as written)."""
        case = self.case(request, id)
        body = SafetyPlanWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        safety_plans.save_version(
            request.user,
            case,
            body.validated_data["sections"],
            sms_consent=body.validated_data["sms_consent"],
        )
        return Response(
            SafetyPlanSerializer(plan_payload(case)).data, status=status.HTTP_201_CREATED
        )


class SafetyPlanSendView(APIView):
    """Send the current plan to the caller by SMS: 409 without their consent or a number."""

    @extend_schema(request=None, responses={201: SafetyPlanMessageSerializer(many=True)})
    def post(self, request, id: int):
        case = get_object_or_404(selectors.visible_cases(request.user), pk=id)
        sent = safety_plans.send_plan_sms(request.user, case)
        return Response(
            SafetyPlanMessageSerializer(sent, many=True).data, status=status.HTTP_201_CREATED
        )
