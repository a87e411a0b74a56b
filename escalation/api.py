"""REST API: one-key dispatches with their legs, alerts (acknowledge/resolve/reassign/history),
escalation policies (validated on save)."""

from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api import ModelSerializer, MomentField
from core.errors import Forbidden, Invalid
from directory.access import is_administrator
from directory.models import Organisation, Region, User
from escalation import selectors, services
from escalation.filters import AlertFilter, DispatchFilter
from escalation.kinds import AlertKind
from escalation.models import Alert, Dispatch, DispatchLeg, EscalationPolicy, OutboundMessage
from escalation.policies import validate_steps
from hotline.api.audit import AuditedReads
from hotline.models import Case
from hotline.selectors import visible_calls, visible_cases
from realtime.models import Event


class LegSerializer(ModelSerializer):
    organisation_name = serializers.CharField(source="organisation.name", read_only=True)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    state_display = serializers.CharField(source="get_state_display", read_only=True)

    class Meta:
        model = DispatchLeg
        fields = [
            "id",
            "dispatch",
            "kind",
            "kind_display",
            "organisation",
            "organisation_name",
            "responder",
            "state",
            "state_display",
            "short_code",
            "notified_at",
            "ack_deadline",
            "acknowledged_at",
            "acknowledged_via",
            "failure_reason",
        ]


class MessageSerializer(ModelSerializer):
    class Meta:
        model = OutboundMessage
        fields = [
            "id",
            "channel",
            "to",
            "body",
            "status",
            "gateway",
            "attempts",
            "last_error",
            "leg",
            "sent_at",
            "created_at",
        ]


class DispatchSerializer(ModelSerializer):
    legs = serializers.SerializerMethodField()
    brief = serializers.SerializerMethodField()
    messages = serializers.SerializerMethodField()
    region_code = serializers.CharField(source="region.code", read_only=True, default=None)
    region_name = serializers.CharField(source="region.name", read_only=True, default="")
    warning_messages = serializers.SerializerMethodField()

    class Meta:
        model = Dispatch
        fields = [
            "id",
            "case",
            "brief",
            "call",
            "source_call_sid",
            "address",
            "region",
            "region_code",
            "region_name",
            "notes",
            "status",
            "missing_kinds",
            "skipped_kinds",
            "warnings",
            "warning_messages",
            "outcome",
            "help_reached",
            "outcome_note",
            "created_at",
            "closed_at",
            "legs",
            "messages",
        ]

    def _whole(self, dispatch) -> bool:
        return selectors.sees_whole_dispatch(self.context["request"].user, dispatch)

    def get_legs(self, dispatch) -> list[dict]:
        # A responder sees only its own leg (and the minimal brief), never the other legs.
        legs = dispatch.legs.select_related("organisation")
        if not self._whole(dispatch):
            legs = legs.filter(pk__in=selectors.visible_legs(self.context["request"].user))
        return LegSerializer(legs, many=True).data

    def get_brief(self, dispatch) -> dict:
        return services.case_brief(dispatch)

    def get_warning_messages(self, dispatch) -> list[str]:
        return services.warning_messages(dispatch)

    def get_messages(self, dispatch) -> list[dict]:
        if not self._whole(dispatch):
            return []
        return MessageSerializer(dispatch.messages.all(), many=True).data

    def to_representation(self, dispatch):
        data = super().to_representation(dispatch)
        if not self._whole(dispatch):
            for key in ("notes", "source_call_sid", "outcome_note"):
                data.pop(key, None)
        return data


class DispatchCreateSerializer(serializers.Serializer):
    case = serializers.IntegerField()
    call = serializers.IntegerField(required=False, allow_null=True, default=None)
    call_sid = serializers.CharField(required=False, allow_blank=True, max_length=64)
    address = serializers.CharField(required=False, allow_blank=True, max_length=200)
    region = serializers.SlugRelatedField(
        slug_field="code", queryset=Region.objects.all(), required=False, allow_null=True
    )
    notes = serializers.CharField(required=False, allow_blank=True)
    leave_out = serializers.ListField(
        child=serializers.ChoiceField(choices=[k.value for k in services.OPTIONAL_KINDS]),
        required=False,
        default=list,
        help_text="Responders the operator deliberately leaves out (police, ambulance).",
    )
    leave_out_reason = serializers.CharField(required=False, allow_blank=True, default="")


class LocationSerializer(serializers.Serializer):
    region = serializers.SlugRelatedField(
        slug_field="code", queryset=Region.objects.all(), required=False, allow_null=True
    )
    address = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")


class CloseSerializer(serializers.Serializer):
    outcome = serializers.CharField()
    help_reached = serializers.BooleanField(allow_null=True, required=False, default=None)
    note = serializers.CharField(required=False, allow_blank=True, default="")


class ConferenceSerializer(serializers.Serializer):
    service = serializers.ChoiceField(choices=["110", "120", "expert"])


class DispatchViewSet(
    AuditedReads, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """一键智达: POST creates the dispatch and alerts every responder at once."""

    serializer_class = DispatchSerializer
    filterset_class = DispatchFilter
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        qs = selectors.visible_dispatches(self.request.user).select_related(
            "case__person", "region"
        )
        return qs.order_by("-id")

    @extend_schema(request=DispatchCreateSerializer, responses={201: DispatchSerializer})
    def create(self, request):
        body = DispatchCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        case = visible_cases(request.user).filter(pk=data["case"]).first()
        if case is None:
            if Case.objects.filter(pk=data["case"]).exists():
                raise Forbidden("This case belongs to an organisation you do not work for.")
            raise Invalid("No such case.", fields={"case": ["Unknown case."]})
        call = None
        if data.get("call") is not None:
            call = visible_calls(request.user).filter(pk=data["call"]).first()
            if call is None:
                raise Invalid("No such call on your hotline.", fields={"call": ["Unknown call."]})
        dispatch = services.create_dispatch(
            request.user,
            case,
            call=call,
            call_sid=data.get("call_sid", ""),
            address=data.get("address", ""),
            region=data.get("region"),
            notes=data.get("notes", ""),
            leave_out=dict.fromkeys(data["leave_out"], data["leave_out_reason"]),
        )
        return Response(self.get_serializer(dispatch).data, status=201)

    @extend_schema(request=LocationSerializer, responses=DispatchSerializer)
    @action(detail=True, methods=["post"], serializer_class=LocationSerializer)
    def location(self, request, pk=None):
        """Set or correct where the person is; the legs follow and responders are told."""
        body = LocationSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        dispatch = services.set_dispatch_location(
            request.user,
            self.get_object(),
            region=body.validated_data.get("region"),
            address=body.validated_data["address"],
        )
        return Response(DispatchSerializer(dispatch, context={"request": request}).data)

    @extend_schema(request=CloseSerializer, responses=DispatchSerializer)
    @action(detail=True, methods=["post"], serializer_class=CloseSerializer)
    def close(self, request, pk=None):
        body = CloseSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        dispatch = services.close_dispatch(request.user, self.get_object(), **body.validated_data)
        return Response(DispatchSerializer(dispatch, context={"request": request}).data)

    @extend_schema(
        request=ConferenceSerializer,
        responses=inline_serializer(
            "Conference", {"participants": serializers.ListField(child=serializers.CharField())}
        ),
    )
    @action(detail=True, methods=["post"], serializer_class=ConferenceSerializer)
    def conference(self, request, pk=None):
        body = ConferenceSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        sids = services.bring_into_call(
            request.user, self.get_object(), service=body.validated_data["service"]
        )
        return Response({"participants": sids})


class LegProgressSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=["en_route", "on_scene", "done"])
    note = serializers.CharField(required=False, allow_blank=True, default="")


class FailSerializer(serializers.Serializer):
    reason = serializers.CharField()


class LegNoteSerializer(serializers.Serializer):
    note = serializers.CharField()


class LegViewSet(
    AuditedReads, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Dispatch legs; a responder sees only its own organisation's legs."""

    serializer_class = LegSerializer
    lookup_value_regex = "[0-9]+"

    def audit_case_ids(self, objects) -> list[int]:
        ids = {leg.dispatch_id for leg in objects}
        return list(Dispatch.objects.filter(pk__in=ids).values_list("case_id", flat=True))

    def get_queryset(self):
        return selectors.visible_legs(self.request.user).select_related("organisation")

    def _leg(self, pk) -> DispatchLeg:
        # Acting on a leg that is not yours is 403 (it exists), not a silent 404.
        return services.get_leg(pk)

    @extend_schema(request=None, responses=LegSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        leg = services.acknowledge_leg(request.user, self._leg(pk), via="console")
        return Response(LegSerializer(leg).data)

    @extend_schema(request=LegProgressSerializer, responses=LegSerializer)
    @action(detail=True, methods=["post"], serializer_class=LegProgressSerializer)
    def progress(self, request, pk=None):
        body = LegProgressSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        leg = services.advance_leg(request.user, self._leg(pk), **body.validated_data)
        return Response(LegSerializer(leg).data)

    @extend_schema(request=FailSerializer, responses=LegSerializer)
    @action(detail=True, methods=["post"], serializer_class=FailSerializer)
    def fail(self, request, pk=None):
        body = FailSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        leg = services.fail_leg(request.user, self._leg(pk), **body.validated_data)
        return Response(LegSerializer(leg).data)

    @extend_schema(request=None, responses=LegSerializer)
    @action(detail=True, methods=["post"], url_path="reached-by-phone")
    def reached_by_phone(self, request, pk=None):
        """电话已联系上: a coordinator reached the responder by phone."""
        leg = services.leg_reached_by_phone(request.user, self._leg(pk))
        return Response(LegSerializer(leg).data)

    @extend_schema(request=LegNoteSerializer, responses=LegSerializer)
    @action(detail=True, methods=["post"], serializer_class=LegNoteSerializer)
    def note(self, request, pk=None):
        body = LegNoteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        leg = services.note_leg(request.user, self._leg(pk), note=body.validated_data["note"])
        return Response(LegSerializer(leg).data)

    @extend_schema(request=None, responses=MessageSerializer(many=True))
    @action(detail=True, methods=["post"])
    def resend(self, request, pk=None):
        """重发通知: the leg's SMS and voice call again."""
        sent = services.resend_leg(request.user, self._leg(pk))
        return Response(MessageSerializer(sent, many=True).data)


class AlertSerializer(ModelSerializer):
    kind = serializers.ChoiceField(
        choices=AlertKind.choices, read_only=True, help_text="see docs/alerts.md for its data keys"
    )
    severity_display = serializers.CharField(source="get_severity_display", read_only=True)
    state_display = serializers.CharField(source="get_state_display", read_only=True)

    class Meta:
        model = Alert
        fields = [
            "id",
            "kind",
            "title",
            "severity",
            "severity_display",
            "state",
            "state_display",
            "case",
            "target_user",
            "target_organisation",
            "target_role",
            "data",
            "short_code",
            "round",
            "step",
            "next_step_at",
            "raised_at",
            "acknowledged_at",
            "acknowledged_by",
            "resolved_at",
            "resolution_note",
            "assigned_organisation",
            "assignment_due",
            "policy_snapshot",
        ]


class HistorySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    type = serializers.CharField()
    at = MomentField()
    actor = serializers.IntegerField(allow_null=True)
    data = serializers.JSONField()


class ResolveNoteSerializer(serializers.Serializer):
    note = serializers.CharField()


class ReassignSerializer(serializers.Serializer):
    organisation = serializers.PrimaryKeyRelatedField(
        queryset=Organisation.objects.filter(is_active=True)
    )
    due = MomentField()


class AssignSerializer(serializers.Serializer):
    user = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True))


class AlertViewSet(
    AuditedReads, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Alerts addressed to the user (or all, for the hotline centre's coordinators)."""

    serializer_class = AlertSerializer
    filterset_class = AlertFilter
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        return selectors.visible_alerts(self.request.user).order_by("-id")

    def _alert(self, pk) -> Alert:
        return get_object_or_404(Alert, pk=pk)

    def _reply(self, alert):
        return Response(AlertSerializer(alert).data)

    @extend_schema(request=None, responses=AlertSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        return self._reply(services.acknowledge_alert(request.user, self._alert(pk)))

    @extend_schema(request=ResolveNoteSerializer, responses=AlertSerializer)
    @action(detail=True, methods=["post"], serializer_class=ResolveNoteSerializer)
    def resolve(self, request, pk=None):
        body = ResolveNoteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._reply(
            services.resolve_alert(request.user, self._alert(pk), note=body.validated_data["note"])
        )

    @extend_schema(request=ReassignSerializer, responses=AlertSerializer)
    @action(detail=True, methods=["post"], serializer_class=ReassignSerializer)
    def reassign(self, request, pk=None):
        body = ReassignSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._reply(
            services.reassign_alert(request.user, self._alert(pk), **body.validated_data)
        )

    @extend_schema(request=AssignSerializer, responses=AlertSerializer)
    @action(detail=True, methods=["post"], serializer_class=AssignSerializer)
    def assign(self, request, pk=None):
        """改派给人: hand the alert to a coordinator or a member of its organisation."""
        body = AssignSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._reply(
            services.assign_alert_to_user(
                request.user, self._alert(pk), user=body.validated_data["user"]
            )
        )

    @extend_schema(request=None, responses={201: MessageSerializer})
    @action(detail=True, methods=["post"])
    def call(self, request, pk=None):
        """呼叫责任人: a voice call through the gateway."""
        message = services.call_alert_responder(request.user, self._alert(pk))
        return Response(MessageSerializer(message).data, status=201)

    @extend_schema(responses=HistorySerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def history(self, request, pk=None):
        alert = self.get_object()
        events = Event.objects.filter(type__startswith="alert.", data__alert=alert.pk).order_by(
            "id"
        )
        return Response(
            [
                {"id": e.id, "type": e.type, "at": e.at, "actor": e.actor_id, "data": e.data}
                for e in events
            ]
        )


class PolicySerializer(ModelSerializer):
    class Meta:
        model = EscalationPolicy
        fields = ["id", "name", "alert_kind", "steps", "max_rounds", "updated_at"]
        read_only_fields = ["updated_at"]

    def validate_steps(self, steps):
        errors = validate_steps(steps)
        if errors:
            raise serializers.ValidationError(errors)
        return steps


class PolicyViewSet(viewsets.ModelViewSet):
    """Escalation policies: coordinators read them, administrators change them."""

    serializer_class = PolicySerializer
    lookup_value_regex = "[0-9]+"
    queryset = EscalationPolicy.objects.order_by("name")

    def check_permissions(self, request):
        super().check_permissions(request)
        if not selectors.is_coordinator(request.user):
            raise Forbidden("Only coordinators may see escalation policies.")
        if request.method not in ("GET", "HEAD", "OPTIONS") and not is_administrator(request.user):
            raise Forbidden("Only an administrator may change escalation policies.")

    def perform_create(self, serializer):
        with transaction.atomic():
            serializer.save()

    def perform_update(self, serializer):
        with transaction.atomic():
            serializer.save()
