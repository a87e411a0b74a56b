"""督导 over REST: a coordinator of the call's hotline listens, whispers or barges in, switches
between them, and leaves. Answers are the call's live conference (``conference_state``)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from hotline.selectors import visible_calls
from hotline.services.conference import conference_state
from hotline.services.supervision import MODES, end_supervision, supervise


class SuperviseSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(
        choices=list(MODES),
        help_text="listen (muted), whisper (coach: heard by the operator only) or barge.",
    )


class SupervisionStateSerializer(serializers.Serializer):
    conference = serializers.DictField(help_text="name, sid and participants of the conference")


_ANSWERS = {
    200: SupervisionStateSerializer,
    403: OpenApiResponse(description="Not a coordinator of the call's hotline centre."),
    409: OpenApiResponse(description="The call is not live, or no supervision to end."),
}


class SuperviseView(APIView):
    """POST calls/{id}/supervise/ {"mode"}: start supervising, or switch mode."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=SuperviseSerializer, responses=_ANSWERS, operation_id="calls_supervise")
    def post(self, request, pk: int):
        call = get_object_or_404(visible_calls(request.user), pk=pk)
        body = SuperviseSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        supervise(request.user, call, mode=body.validated_data["mode"])
        return Response(conference_state(call))


class SuperviseEndView(APIView):
    """POST calls/{id}/supervise/end/: the supervisor leaves the call."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=_ANSWERS, operation_id="calls_supervise_end")
    def post(self, request, pk: int):
        call = get_object_or_404(visible_calls(request.user), pk=pk)
        end_supervision(request.user, call)
        return Response(conference_state(call))
