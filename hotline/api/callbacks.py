"""REST API of call-backs (回拨) of abandoned calls: the open list, take one, record an attempt."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from core.api import ModelSerializer
from core.errors import Invalid, NotFound
from hotline import selectors, services
from hotline.api.calls import CallDetailSerializer, IsHotlineStaff
from hotline.models import (
    ATTEMPT_OUTCOME_CHOICES,
    RISK_ORDER,
    Call,
    CallbackAttempt,
    CallbackTask,
)


class CallbackAttemptSerializer(ModelSerializer):
    operator_name = serializers.SerializerMethodField()

    class Meta:
        model = CallbackAttempt
        fields = ["id", "call", "operator", "operator_name", "outcome", "note", "at"]
        read_only_fields = fields

    def get_operator_name(self, attempt) -> str:
        return str(attempt.operator) if attempt.operator_id else ""


class CallbackSerializer(ModelSerializer):
    from_number = serializers.SerializerMethodField()
    person = serializers.IntegerField(source="abandoned_call.person_id", read_only=True)
    person_name = serializers.SerializerMethodField()
    waiting_since = serializers.SerializerMethodField()
    queue_call_status = serializers.SerializerMethodField()
    dialled_by = serializers.SerializerMethodField()
    attempts = CallbackAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = CallbackTask
        fields = [
            "id",
            "status",
            "outcome",
            "risk",
            "due_at",
            "waiting_since",
            "from_number",
            "person",
            "person_name",
            "case",
            "abandoned_call",
            "queue_call",
            "queue_call_status",
            "dialled_by",
            "attempts",
            "created_at",
            "done_at",
        ]
        read_only_fields = fields

    def get_from_number(self, task) -> str:
        return str(task.abandoned_call.from_number)

    def get_person_name(self, task) -> str:
        call = task.abandoned_call
        return str(call.person) if call.person_id else ""

    def get_waiting_since(self, task) -> str:
        """Since the caller hung up."""
        call = task.abandoned_call
        return (call.ended_at or call.queued_at).isoformat()

    def get_queue_call_status(self, task) -> str | None:
        return task.queue_call.status if task.queue_call_id else None

    def get_dialled_by(self, task) -> int | None:
        call = task.queue_call
        return call.operator_id if call is not None and call.status == "in_progress" else None


class CallbackOutcomeSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=ATTEMPT_OUTCOME_CHOICES)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class CallbackViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Call-backs of abandoned calls: open ones first by known risk, then longest waiting."""

    permission_classes = [IsAuthenticated, IsHotlineStaff]
    serializer_class = CallbackSerializer
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema's generation: no user
            return CallbackTask.objects.none()
        qs = (
            selectors.visible_callbacks(self.request.user)
            .select_related("abandoned_call__person", "queue_call")
            .prefetch_related("attempts__operator")
        )
        state = self.request.query_params.get("status", "open")
        if state not in ("open", "done", "all"):
            raise Invalid(
                "status is one of open, done, all.", fields={"status": ["Unknown value."]}
            )
        if state != "all":
            qs = qs.filter(status=state)
        return sorted(qs, key=lambda t: (-RISK_ORDER[t.risk], t.created_at, t.pk))

    def get_object(self):
        task = (
            selectors.visible_callbacks(self.request.user)
            .select_related("abandoned_call__person", "queue_call")
            .filter(pk=self.kwargs["pk"])
            .first()
        )
        if task is None:
            raise NotFound("No such call-back.")
        return task

    @extend_schema(parameters=[OpenApiParameter("status", str, enum=["open", "done", "all"])])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def _call(self, call: Call) -> Response:
        call = Call.objects.select_related("person", "case", "operator").get(pk=call.pk)
        return Response(CallDetailSerializer(call).data)

    @extend_schema(request=None, responses=CallDetailSerializer)
    @action(detail=True, methods=["post"])
    def take(self, request, pk=None):
        """Dial this call-back now: it is queued if it was not and accepted by me (409 when it is
        closed or another operator is dialling it)."""
        return self._call(services.take_callback(request.user, self.get_object()))

    @extend_schema(request=CallbackOutcomeSerializer, responses=CallDetailSerializer)
    @action(detail=True, methods=["post"])
    def attempts(self, request, pk=None):
        """What the call-back I am dialling came to: ``reached`` (go on to triage), or no answer,
        busy (tried again later), wrong number, declined (the task closes)."""
        body = CallbackOutcomeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        call = services.record_callback_attempt(
            request.user, self.get_object(), **body.validated_data
        )
        return self._call(call)
