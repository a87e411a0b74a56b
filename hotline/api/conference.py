"""REST of a call's conference: hold, hang up, transfer (consult, complete, cancel, join)."""

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from hotline import selectors
from hotline.conference_models import (
    ParticipantRole,
    ParticipantStatus,
    TransferMode,
    TransferTarget,
)
from hotline.models import Call
from hotline.services import conference as services


class ConferenceParticipantSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    role = serializers.ChoiceField(choices=ParticipantRole.choices)
    user = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=ParticipantStatus.choices)
    on_hold = serializers.BooleanField()
    muted = serializers.BooleanField()
    coaching = serializers.BooleanField()
    transfer_mode = serializers.CharField()
    target_kind = serializers.CharField()


class ConferenceDetailSerializer(serializers.Serializer):
    name = serializers.CharField()
    sid = serializers.CharField()
    participants = ConferenceParticipantSerializer(many=True)


class ConferenceStateSerializer(serializers.Serializer):
    conference = ConferenceDetailSerializer()


class HoldSerializer(serializers.Serializer):
    on = serializers.BooleanField()


class TransferSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=TransferMode.choices)
    target = serializers.ChoiceField(choices=TransferTarget.choices)
    user = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.filter(is_active=True), required=False, allow_null=True
    )
    number = serializers.CharField(required=False, allow_blank=True, max_length=32, default="")
    reason = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")

    def validate(self, attrs):
        if attrs["target"] == TransferTarget.NUMBER and not attrs.get("number"):
            raise serializers.ValidationError({"number": ["Give the outside number."]})
        return attrs


class CallConferenceViewSet(viewsets.GenericViewSet):
    """The live call's conference (会议通话): the call's operator holds, hangs up and transfers;
    the receiver of a transfer joins."""

    permission_classes = [IsAuthenticated]
    serializer_class = ConferenceStateSerializer
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Call.objects.none()
        return selectors.conference_calls(self.request.user)

    def _state(self, call) -> Response:
        return Response(ConferenceStateSerializer(services.conference_state(call)).data)

    @extend_schema(request=None, responses=ConferenceStateSerializer)
    @action(detail=True, methods=["get"])
    def conference(self, request, pk=None):
        """The call's conference now: who is in it, on hold, muted."""
        return self._state(self.get_object())

    @extend_schema(request=HoldSerializer, responses=ConferenceStateSerializer)
    @action(detail=True, methods=["post"])
    def hold(self, request, pk=None):
        """Put the caller on hold (hold music) or take them off it."""
        call = self.get_object()
        body = HoldSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._state(services.hold(call, request.user, body.validated_data["on"]))

    @extend_schema(request=None, responses=ConferenceStateSerializer)
    @action(detail=True, methods=["post"], url_path="hang-up")
    def hang_up(self, request, pk=None):
        """End the call for everyone in it."""
        return self._state(services.hang_up(self.get_object(), request.user))

    @extend_schema(request=TransferSerializer, responses=ConferenceStateSerializer)
    @action(detail=True, methods=["post"])
    def transfer(self, request, pk=None):
        """Transfer the call: warm (consult, then complete or cancel) or cold (at once)."""
        call = self.get_object()
        body = TransferSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        return self._state(
            services.start_transfer(
                call,
                request.user,
                mode=data["mode"],
                target_kind=data["target"],
                target_user=data.get("user"),
                number=data["number"],
                reason=data["reason"],
            )
        )

    @extend_schema(request=None, responses=ConferenceStateSerializer)
    @action(detail=True, methods=["post"], url_path="transfer/complete")
    def transfer_complete(self, request, pk=None):
        """Hand the call over to the receiver who joined: you leave, the caller is taken off
        hold."""
        return self._state(services.complete_transfer(self.get_object(), request.user))

    @extend_schema(request=None, responses=ConferenceStateSerializer)
    @action(detail=True, methods=["post"], url_path="transfer/cancel")
    def transfer_cancel(self, request, pk=None):
        """Take the call back: the receiver is removed and the caller taken off hold."""
        return self._state(services.cancel_transfer(self.get_object(), request.user))

    @extend_schema(request=None, responses=ConferenceStateSerializer)
    @action(detail=True, methods=["post"], url_path="transfer/join")
    def transfer_join(self, request, pk=None):
        """The receiver of a transfer joins the call (their phone or console rings)."""
        return self._state(services.join_transfer(self.get_object(), request.user))
