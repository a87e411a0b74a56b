"""REST API of referrals, counsellor slots, appointments and hospital service slots."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api import ModelSerializer, MomentField
from core.errors import NotFound
from directory.access import is_administrator
from directory.models import Organisation, User
from hotline.api.audit import AuditedReads
from hotline.models import Case, Risk
from hotline.selectors import case_organisation_ids, visible_cases
from referrals import selectors, services
from referrals.filters import (
    AppointmentFilter,
    HospitalSlotFilter,
    ReferralFilter,
    SlotFilter,
)
from referrals.models import (
    Appointment,
    CounsellorSlot,
    HospitalService,
    HospitalSlot,
    PreAssessment,
    Referral,
    ReferralKind,
)


class ReferralSerializer(ModelSerializer):
    is_overdue = serializers.SerializerMethodField()
    person_name = serializers.CharField(source="case.person.__str__", read_only=True)
    sender_name = serializers.CharField(source="sender.name", read_only=True)
    receiver_name = serializers.CharField(source="receiver.name", read_only=True)
    state_display = serializers.CharField(source="get_state_display", read_only=True)
    green_channel = serializers.SerializerMethodField()

    class Meta:
        model = Referral
        fields = [
            "id",
            "case",
            "person_name",
            "kind",
            "state",
            "state_display",
            "sender",
            "sender_name",
            "receiver",
            "receiver_name",
            "sent_by",
            "parent",
            "urgency",
            "reason",
            "snapshot",
            "consent",
            "consent_override_reason",
            "sent_at",
            "ack_due_at",
            "is_overdue",
            "acknowledged_at",
            "acknowledged_by",
            "decline_reason",
            "end_reason",
            "attended_at",
            "outcome",
            "closed_at",
            "green_channel",
        ]
        read_only_fields = fields

    def get_is_overdue(self, referral) -> bool:
        return referral.is_overdue()

    def get_green_channel(self, referral) -> dict | None:
        booking = getattr(referral, "green_channel_booking", None)
        if booking is None:
            return None
        return {
            "service": booking.service,
            "slot": booking.slot_id,
            "starts_at": booking.slot.starts_at if booking.slot else None,
            "over_capacity": booking.over_capacity,
        }


class ReferralCreateSerializer(serializers.Serializer):
    case = serializers.PrimaryKeyRelatedField(queryset=Case.objects.all())
    kind = serializers.ChoiceField(choices=ReferralKind.choices)
    receiver = serializers.PrimaryKeyRelatedField(
        queryset=Organisation.objects.all(), required=False, allow_null=True
    )
    sender = serializers.PrimaryKeyRelatedField(
        queryset=Organisation.objects.all(), required=False, allow_null=True
    )
    reason = serializers.CharField(required=False, allow_blank=True, default="")
    consent = serializers.BooleanField(default=False)
    consent_override_reason = serializers.CharField(required=False, allow_blank=True, default="")
    urgency = serializers.ChoiceField(choices=Risk.choices, required=False)
    snapshot = serializers.JSONField(required=False, default=dict)
    parent = serializers.PrimaryKeyRelatedField(
        queryset=Referral.objects.all(), required=False, allow_null=True
    )
    service = serializers.ChoiceField(
        choices=HospitalService.choices, required=False, allow_blank=True, default=""
    )
    slot = serializers.PrimaryKeyRelatedField(
        queryset=HospitalSlot.objects.all(), required=False, allow_null=True
    )


class ReferralReasonSerializer(serializers.Serializer):
    reason = serializers.CharField()


class OutcomeSerializer(serializers.Serializer):
    outcome = serializers.CharField()


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="")


class PreAssessSerializer(ModelSerializer):
    class Meta:
        model = PreAssessment
        fields = [
            "id",
            "risk",
            "presenting_problem",
            "history",
            "recommendation",
            "notes",
            "assessed_by",
            "assessed_at",
        ]
        read_only_fields = ["id", "assessed_by", "assessed_at"]


class ScheduleSerializer(serializers.Serializer):
    slot = serializers.PrimaryKeyRelatedField(
        queryset=CounsellorSlot.objects.all(), required=False, allow_null=True
    )
    counsellor = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), required=False, allow_null=True
    )
    starts_at = MomentField(required=False, allow_null=True)


class AppointmentSerializer(ModelSerializer):
    starts_at = MomentField(source="slot.starts_at", read_only=True)
    ends_at = MomentField(source="slot.ends_at", read_only=True)
    counsellor = serializers.IntegerField(source="slot.counsellor_id", read_only=True)

    class Meta:
        model = Appointment
        fields = [
            "id",
            "slot",
            "case",
            "referral",
            "organisation",
            "channel",
            "status",
            "starts_at",
            "ends_at",
            "counsellor",
            "booked_by",
            "booked_at",
            "note",
        ]
        read_only_fields = fields


class AppointmentCreateSerializer(ScheduleSerializer):
    case = serializers.PrimaryKeyRelatedField(queryset=Case.objects.all())
    # A session of a counselling course: booked on its referral (the next session, or the first).
    referral = serializers.PrimaryKeyRelatedField(
        queryset=Referral.objects.all(), required=False, allow_null=True
    )
    note = serializers.CharField(required=False, allow_blank=True, default="")


def _visible_referral_qs(user):
    return selectors.visible_referrals(user).select_related("green_channel_booking__slot")


class ReferralViewSet(
    AuditedReads, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """转介: referrals sent to or by the user's organisations, with their actions."""

    serializer_class = ReferralSerializer
    filterset_class = ReferralFilter
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        return _visible_referral_qs(self.request.user).order_by("-id")

    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        referral = self.get_object()  # audited by AuditedReads
        return Response(ReferralSerializer(referral).data)

    @extend_schema(request=ReferralCreateSerializer, responses={201: ReferralSerializer})
    def create(self, request):
        body = ReferralCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        d = dict(body.validated_data)
        case = d.pop("case")
        if not visible_cases(request.user).filter(pk=case.pk).exists():
            raise NotFound("No such case.")
        referral = services.send_referral(request.user, case, **d)
        return Response(
            ReferralSerializer(_visible_referral_qs(request.user).get(pk=referral.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    def _act(self, request, serializer_class, fn):
        referral = self.get_object()
        data = {}
        if serializer_class is not None:
            body = serializer_class(data=request.data)
            body.is_valid(raise_exception=True)
            data = body.validated_data
        fn(referral, data)
        fresh = _visible_referral_qs(request.user).filter(pk=referral.pk).first()
        if fresh is None:  # declined by this receiver: its grant ended, so only the outcome
            referral.refresh_from_db(fields=["state"])
            return Response(
                {
                    "id": referral.pk,
                    "state": referral.state,
                    "state_display": referral.get_state_display(),
                }
            )
        return Response(ReferralSerializer(fresh).data)

    @extend_schema(request=None, responses=ReferralSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        """Take the referral; a second counsellor pressing at once gets 409."""
        return self._act(request, None, lambda r, d: services.acknowledge(request.user, r))

    @extend_schema(request=ReferralReasonSerializer, responses=ReferralSerializer)
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        return self._act(
            request,
            ReferralReasonSerializer,
            lambda r, d: services.decline(request.user, r, reason=d["reason"]),
        )

    @extend_schema(request=PreAssessSerializer, responses=PreAssessSerializer)
    @action(detail=True, methods=["post"], url_path="pre-assess")
    def pre_assess(self, request, pk=None):
        """先期研判 before the visit."""
        referral = self.get_object()
        body = PreAssessSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        assessment = services.pre_assess(request.user, referral, **body.validated_data)
        return Response(PreAssessSerializer(assessment).data)

    @extend_schema(request=ScheduleSerializer, responses={201: AppointmentSerializer})
    @action(detail=True, methods=["post"])
    def schedule(self, request, pk=None):
        referral = self.get_object()
        body = ScheduleSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        appointment = services.schedule(request.user, referral, **body.validated_data)
        return Response(AppointmentSerializer(appointment).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=NoteSerializer, responses=ReferralSerializer)
    @action(detail=True, methods=["post"])
    def attend(self, request, pk=None):
        """The person came (also a hospital outpatient visit)."""
        return self._act(
            request,
            NoteSerializer,
            lambda r, d: services.attend(request.user, r, note=d["note"]),
        )

    @extend_schema(request=OutcomeSerializer, responses=ReferralSerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        return self._act(
            request,
            OutcomeSerializer,
            lambda r, d: services.complete(request.user, r, outcome=d["outcome"]),
        )

    @extend_schema(request=None, responses=ReferralSerializer)
    @action(detail=True, methods=["post"], url_path="no-show")
    def no_show(self, request, pk=None):
        return self._act(request, None, lambda r, d: services.record_no_show(request.user, r))

    @extend_schema(request=ReferralReasonSerializer, responses=ReferralSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._act(
            request,
            ReferralReasonSerializer,
            lambda r, d: services.cancel(request.user, r, reason=d["reason"]),
        )

    @extend_schema(request=ReferralReasonSerializer, responses=ReferralSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        return self._act(
            request,
            ReferralReasonSerializer,
            lambda r, d: services.revoke(request.user, r, reason=d["reason"]),
        )


class SlotSerializer(ModelSerializer):
    booked = serializers.SerializerMethodField()

    class Meta:
        model = CounsellorSlot
        fields = ["id", "organisation", "counsellor", "starts_at", "ends_at", "booked"]
        read_only_fields = ["id", "organisation", "booked"]
        extra_kwargs = {"counsellor": {"required": False}}
        # The model's unique (counsellor, start) would make DRF require ``counsellor``; the
        # service refuses a clash itself (409), and the counsellor defaults to the caller.
        validators = []

    def get_booked(self, slot) -> bool:
        return slot.appointments.exclude(status="cancelled").exists()


class SlotViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Counsellors' availability at the user's centres (``?free=1`` for unbooked future ones)."""

    serializer_class = SlotSerializer
    filterset_class = SlotFilter
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        user = self.request.user
        qs = CounsellorSlot.objects.all()
        if not is_administrator(user):
            qs = qs.filter(organisation__in=case_organisation_ids(user))
        return qs.order_by("starts_at")

    def perform_create(self, serializer):
        d = serializer.validated_data
        serializer.instance = services.create_slot(
            self.request.user,
            counsellor=d.get("counsellor") or self.request.user,
            starts_at=d["starts_at"],
            ends_at=d["ends_at"],
        )


class HospitalSlotSerializer(ModelSerializer):
    booked = serializers.IntegerField(source="bookings.count", read_only=True)

    class Meta:
        model = HospitalSlot
        fields = ["id", "hospital", "service", "starts_at", "ends_at", "capacity", "booked"]
        read_only_fields = ["id", "booked"]


class HospitalSlotViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Hospital service slots (youth ward, self-harm clinic); counsellors see them to book."""

    serializer_class = HospitalSlotSerializer
    filterset_class = HospitalSlotFilter
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        return HospitalSlot.objects.order_by("starts_at")

    def perform_create(self, serializer):
        serializer.instance = services.create_hospital_slot(
            self.request.user, **serializer.validated_data
        )


class AppointmentViewSet(
    AuditedReads, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Appointments at the user's centres; POST books one from the 2259885 appointment line."""

    serializer_class = AppointmentSerializer
    filterset_class = AppointmentFilter
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        user = self.request.user
        qs = Appointment.objects.select_related("slot")
        if not is_administrator(user):
            qs = qs.filter(organisation__in=case_organisation_ids(user))
        return qs.order_by("slot__starts_at")

    @extend_schema(request=AppointmentCreateSerializer, responses={201: AppointmentSerializer})
    def create(self, request):
        body = AppointmentCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        d = dict(body.validated_data)
        referral = d.pop("referral", None)
        if referral is None:
            appointment = services.book_appointment(request.user, **d)
        else:
            appointment = services.book_next_session(request.user, referral, **d)
        return Response(AppointmentSerializer(appointment).data, status=status.HTTP_201_CREATED)
