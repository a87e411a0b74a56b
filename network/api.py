"""Partner-system APIs: the FHIR export of a referral and Encounters back (knox token of the
referral's sender or receiver), and signed status reports of dispatch legs from 110/120."""

import json

from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.operationoutcome import OperationOutcome
from pydantic import ValidationError as PydanticValidationError
from rest_framework import serializers, status
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import DomainError
from directory.access import CASE_ROLES, organisation_ids
from network import fhir, services
from referrals.selectors import visible_referrals

FHIR_JSON = "application/fhir+json"


class FhirJsonRenderer(JSONRenderer):
    media_type = FHIR_JSON
    format = "fhir"


class FhirJsonParser(JSONParser):
    media_type = FHIR_JSON


def _outcome(message: str, code: str = "invalid", *, http=status.HTTP_400_BAD_REQUEST):
    outcome = OperationOutcome(issue=[{"severity": "error", "code": code, "diagnostics": message}])
    return Response(json.loads(outcome.model_dump_json()), status=http)


def _referral_for(user, pk):
    """The referral, for members (case roles) of its sender or receiver only; else 404."""
    orgs = organisation_ids(user, roles=CASE_ROLES)
    referral = (
        visible_referrals(user).select_related("case__person", "sent_by").filter(pk=pk).first()
    )
    if referral is None or not ({referral.sender_id, referral.receiver_id} & orgs):
        raise Http404(_("No such referral."))
    return referral


class ReferralFhirView(APIView):
    """FHIR R4 (R4B models) Bundle of one referral, for the receiving organisation's systems."""

    renderer_classes = [FhirJsonRenderer, JSONRenderer]

    @extend_schema(
        operation_id="referral_fhir_bundle",
        responses={(200, FHIR_JSON): OpenApiTypes.OBJECT, (404, FHIR_JSON): OpenApiTypes.OBJECT},
    )
    def get(self, request, pk):
        referral = _referral_for(request.user, pk)
        base = request.build_absolute_uri("/fhir/")
        bundle = fhir.referral_bundle(referral, base=base)
        return Response(json.loads(bundle.model_dump_json()))


class ReferralEncounterView(APIView):
    """An admission (in-progress) or discharge (finished) reported back as a FHIR Encounter."""

    renderer_classes = [FhirJsonRenderer, JSONRenderer]
    parser_classes = [FhirJsonParser, JSONParser]

    @extend_schema(
        operation_id="referral_fhir_encounter",
        request={FHIR_JSON: OpenApiTypes.OBJECT, "application/json": OpenApiTypes.OBJECT},
        responses={
            (200, FHIR_JSON): OpenApiTypes.OBJECT,
            (201, FHIR_JSON): OpenApiTypes.OBJECT,
            (400, FHIR_JSON): OpenApiTypes.OBJECT,
        },
    )
    def post(self, request, pk):
        referral = _referral_for(request.user, pk)
        data = request.data
        if not isinstance(data, dict) or data.get("resourceType") != "Encounter":
            return _outcome(_("The body must be a FHIR Encounter."), "structure")
        try:
            encounter = Encounter.model_validate(data)
        except (PydanticValidationError, ValueError, TypeError) as exc:
            return _outcome(_("Not a valid FHIR Encounter: %s") % str(exc)[:500], "structure")
        identifier = next(
            (f"{i.system or ''}|{i.value}" for i in encounter.identifier or [] if i.value), ""
        )
        if not identifier:
            return _outcome(_("The Encounter needs an identifier."), "required")
        places = [
            (loc.location.display or "").strip() for loc in encounter.location or [] if loc.location
        ]
        disposition = ""
        if encounter.hospitalization and encounter.hospitalization.dischargeDisposition:
            disposition = encounter.hospitalization.dischargeDisposition.text or ""
        try:
            received, created = services.record_encounter(
                request.user,
                referral,
                identifier=identifier[:200],
                status=encounter.status,
                ward=places[0] if places else "",
                bed=places[1] if len(places) > 1 else "",
                summary=disposition,
                follow_up_plan=disposition,
            )
        except DomainError as exc:
            if exc.status_code == 400:
                return _outcome(exc.message, "invalid")
            raise
        return Response(
            {
                "resourceType": "Encounter",
                "status": received.status,
                "identifier": [{"value": identifier}],
                "admission": received.admission_id,
            },
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class LegStatusIn(serializers.Serializer):
    # The leg is named in the signed body too, so a captured request cannot be replayed at
    # another leg's URL.
    leg = serializers.IntegerField()
    status = serializers.ChoiceField(choices=sorted(services.PARTNER_STEPS))
    note = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class LegStatusOut(serializers.Serializer):
    leg = serializers.IntegerField()
    state = serializers.CharField()


class PartnerLegStatusView(APIView):
    """A 110/120/community platform reports a leg's progress, signed with its shared secret."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="partner_leg_status",
        request=LegStatusIn,
        responses={200: LegStatusOut},
        parameters=[
            OpenApiParameter("X-Crisisline-Partner", str, OpenApiParameter.HEADER, required=True),
            OpenApiParameter("X-Crisisline-Timestamp", str, OpenApiParameter.HEADER, required=True),
            OpenApiParameter("X-Crisisline-Signature", str, OpenApiParameter.HEADER, required=True),
        ],
    )
    def post(self, request, pk):
        body = request.body
        partner = services.authenticate_partner(
            request.headers.get("X-Crisisline-Partner", ""),
            request.headers.get("X-Crisisline-Timestamp", ""),
            body,
            request.headers.get("X-Crisisline-Signature", ""),
        )
        incoming = LegStatusIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        if incoming.validated_data["leg"] != pk:
            return Response(
                {"detail": _("The signed body names another leg."), "code": "leg_mismatch"},
                status=status.HTTP_400_BAD_REQUEST,
            )
        leg = services.report_leg_status(
            partner, pk, incoming.validated_data["status"], incoming.validated_data["note"]
        )
        return Response(LegStatusOut({"leg": leg.pk, "state": leg.state}).data)
