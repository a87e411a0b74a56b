"""求助 over REST: the operator of a live call asks the on-duty coordinator for help."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from escalation import services
from hotline.selectors import visible_calls


class HelpRequestedSerializer(serializers.Serializer):
    alert = serializers.IntegerField()
    state = serializers.CharField()
    target = serializers.CharField(help_text="Who the alert is addressed to, in words.")


class NeedHelpView(APIView):
    """POST calls/{id}/need-help/: 409 unless the user is talking on this call."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=HelpRequestedSerializer, operation_id="calls_need_help")
    def post(self, request, pk: int):
        call = get_object_or_404(visible_calls(request.user), pk=pk)
        alert = services.request_help(request.user, call)
        target = alert.target_user or alert.target_organisation
        return Response(
            HelpRequestedSerializer(
                {"alert": alert.pk, "state": alert.state, "target": str(target or "")}
            ).data
        )
