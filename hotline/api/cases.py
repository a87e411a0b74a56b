"""REST API of the case file: people and cases, with the loop's stage actions and the timeline."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from phonenumber_field.serializerfields import PhoneNumberField
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api import ModelSerializer, MomentField
from core.errors import Forbidden, Invalid
from directory.models import Organisation, Region, User
from hotline import selectors, services
from hotline.api.audit import AuditedReads
from hotline.filters import CaseFilter
from hotline.models import (
    LOOP,
    Case,
    FlagKind,
    GuardianContact,
    Person,
    PersonFlag,
    Risk,
    Stage,
)
from realtime.selectors import case_timeline


class RegionCodeField(serializers.SlugRelatedField):
    default_error_messages = {
        "does_not_exist": "Unknown region code: {value}.",
        "invalid": "A region is given by its administrative code.",
    }

    def __init__(self, **kwargs):
        super().__init__(slug_field="code", queryset=Region.objects.all(), **kwargs)


class GuardianSerializer(ModelSerializer):
    phone = PhoneNumberField()

    class Meta:
        model = GuardianContact
        fields = ["name", "relation", "phone"]


class FlagSerializer(ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    set_by_name = serializers.SerializerMethodField()

    class Meta:
        model = PersonFlag
        fields = [
            "id",
            "kind",
            "kind_display",
            "reason",
            "set_by",
            "set_by_name",
            "set_at",
            "expires_at",
            "cleared_at",
            "clear_reason",
        ]
        read_only_fields = fields

    def get_set_by_name(self, flag) -> str:
        return str(flag.set_by) if flag.set_by_id else ""


def active_flags(person) -> list:
    return FlagSerializer(person.flags.active(), many=True).data if person else []


class PersonSerializer(ModelSerializer):
    phone = PhoneNumberField(required=False, allow_blank=True)
    phones = serializers.ListField(
        child=PhoneNumberField(),
        required=False,
        write_only=True,  # read back by to_representation, from the rows
        help_text="Further numbers beside phone.",
    )
    home_region = RegionCodeField(required=False, allow_null=True)
    # A method, not source="home_region.name": DRF skips a sourced default in a PATCH's answer.
    home_region_name = serializers.SerializerMethodField()
    guardians = GuardianSerializer(many=True, required=False)
    open_case = serializers.SerializerMethodField()
    display_name = serializers.CharField(source="__str__", read_only=True)
    flags = serializers.SerializerMethodField()
    cases = serializers.SerializerMethodField()

    class Meta:
        model = Person
        fields = [
            "id",
            "display_name",
            "name",
            "alias",
            "is_anonymous",
            "phone",
            "phones",
            "language",
            "gender",
            "birth_year",
            "home_region",
            "home_region_name",
            "address",
            "school",
            "notes",
            "guardians",
            "open_case",
            "cases",
            "flags",
            "merged_into",
            "created_at",
        ]
        read_only_fields = ["created_at", "merged_into"]

    def to_representation(self, person):
        data = super().to_representation(person)
        data["phones"] = [str(p.number) for p in person.phones.all()]
        return data

    def get_home_region_name(self, person) -> str:
        return person.home_region.name if person.home_region_id else ""

    def get_open_case(self, person) -> int | None:
        case = person.cases.open().first()
        return case.pk if case else None

    def get_cases(self, person) -> list[int]:
        """The person's case numbers, newest first."""
        return sorted((c.pk for c in person.cases.all()), reverse=True)

    @extend_schema_field(FlagSerializer(many=True))
    def get_flags(self, person):
        """The live flags (not cleared, not expired)."""
        return active_flags(person)


class FlagCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=FlagKind.choices)
    reason = serializers.CharField()
    expires_at = MomentField(required=False, allow_null=True, default=None)


class FlagClearSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class MergeSerializer(serializers.Serializer):
    other = serializers.PrimaryKeyRelatedField(queryset=Person.objects.all())
    reason = serializers.CharField()


class PersonSearchSerializer(serializers.Serializer):
    phone = PhoneNumberField()


class PersonViewSet(
    AuditedReads,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """People at risk the user may see (through a case their organisation holds)."""

    serializer_class = PersonSerializer
    lookup_value_regex = "[0-9]+"
    audited_actions = ("search",)

    def audit_person_ids(self, objects) -> list[int]:
        return [p.pk for p in objects]

    def get_queryset(self):
        user = self.request.user
        search = self.request.query_params.get("search") if self.action == "list" else None
        if search is not None:
            qs = selectors.search_people(user, search)
        else:
            qs = selectors.visible_people(user).order_by("-id")
        return qs.select_related("home_region").prefetch_related("guardians", "cases", "phones")

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "search",
                str,
                description="Name or alias (fuzzy on PostgreSQL), 4+ digits of a phone number "
                "in any format, or a case number (#12).",
            )
        ]
    )
    def list(self, request, *args, **kwargs):
        # A whole phone number in a URL ends up in access logs and browser history: search
        # by POST (or ?search= with a part of it).
        if "phone" in request.query_params:
            raise serializers.ValidationError(
                {"phone": ['Search by phone number with POST people/search/ {"phone": ...}.']}
            )
        return super().list(request, *args, **kwargs)

    @extend_schema(request=FlagCreateSerializer, responses={201: FlagSerializer})
    @action(detail=True, methods=["post"])
    def flags(self, request, pk=None):
        """Set a caller profile flag: kind, why, and optionally until when."""
        person = self.get_object()
        body = FlagCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        flag = services.set_flag(request.user, person, **body.validated_data)
        return Response(FlagSerializer(flag).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=FlagClearSerializer, responses=FlagSerializer)
    @action(
        detail=True,
        methods=["post"],
        url_path=r"flags/(?P<flag_id>[0-9]+)/clear",
        url_name="flag-clear",
    )
    def clear_flag(self, request, pk=None, flag_id=None):
        person = self.get_object()
        flag = get_object_or_404(PersonFlag, pk=flag_id, person=person)
        body = FlagClearSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        flag = services.clear_flag(request.user, flag, reason=body.validated_data["reason"])
        return Response(FlagSerializer(flag).data)

    @extend_schema(request=MergeSerializer, responses=PersonSerializer)
    @action(detail=True, methods=["post"])
    def merge(self, request, pk=None):
        """Fold ``other`` into this person (coordinators): cases, calls, numbers and flags
        follow; if both have an open case, the other's is closed with the reason."""
        if not services.may_merge(request.user):
            raise Forbidden("Only a coordinator may merge two people.")
        person = self.get_object()
        body = MergeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        person = services.merge_people(request.user, person, data["other"], reason=data["reason"])
        return Response(self.get_serializer(person).data)

    @extend_schema(request=PersonSearchSerializer, responses=PersonSerializer(many=True))
    @action(detail=False, methods=["post"])
    def search(self, request):
        """People with this phone number, of those the user may see (the number in the body)."""
        query = PersonSearchSerializer(data=request.data)
        query.is_valid(raise_exception=True)
        people = self.get_queryset().filter(phone=query.validated_data["phone"])
        page = self.paginate_queryset(people)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        guardians = data.pop("guardians", [])
        phones = data.pop("phones", [])
        region = data.pop("home_region", None)
        serializer.instance = services.create_person(
            self.request.user, home_region=region, guardians=guardians, phones=phones, **data
        )

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        guardians = data.pop("guardians", None)
        phones = data.pop("phones", None)
        serializer.instance = services.update_person(
            self.request.user, serializer.instance, guardians=guardians, phones=phones, **data
        )


class CaseSerializer(ModelSerializer):
    person_name = serializers.SerializerMethodField()
    stage_display = serializers.CharField(source="get_stage_display", read_only=True)
    risk_display = serializers.CharField(source="get_risk_display", read_only=True)
    owning_organisation_name = serializers.CharField(
        source="owning_organisation.name", read_only=True
    )

    class Meta:
        model = Case
        fields = [
            "id",
            "person",
            "person_name",
            "stage",
            "stage_display",
            "risk",
            "risk_display",
            "owning_organisation",
            "owning_organisation_name",
            "owner",
            "summary",
            "next_step",
            "next_step_due",
            "stage_entered_at",
            "opened_at",
            "closed_at",
            "close_reason",
        ]
        read_only_fields = fields

    def get_person_name(self, case) -> str:
        return str(case.person)


class CaseCreateSerializer(serializers.Serializer):
    person = serializers.PrimaryKeyRelatedField(queryset=Person.objects.all())
    owning_organisation = serializers.PrimaryKeyRelatedField(
        queryset=Organisation.objects.filter(is_active=True), required=False
    )
    risk = serializers.ChoiceField(choices=Risk.choices, default=Risk.NONE)
    stage = serializers.ChoiceField(
        choices=[Stage.PREVENTION, Stage.DISCOVERY], default=Stage.DISCOVERY
    )
    summary = serializers.CharField(required=False, allow_blank=True, default="")


class AdvanceSerializer(serializers.Serializer):
    stage = serializers.ChoiceField(choices=[s.value for s in LOOP[1:]])
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField()


class RiskSerializer(serializers.Serializer):
    risk = serializers.ChoiceField(choices=Risk.choices)
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class NextStepSerializer(serializers.Serializer):
    next_step = serializers.CharField(max_length=200)
    due = MomentField(required=False, allow_null=True, default=None)
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), required=False, allow_null=True
    )


class EventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    type = serializers.CharField()
    at = MomentField()
    case = serializers.IntegerField(source="case_id")
    actor = serializers.SerializerMethodField()
    data = serializers.JSONField()

    def get_actor(self, event) -> str | None:
        return str(event.actor) if event.actor_id else None


class CaseViewSet(
    AuditedReads, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Cases the user's organisations hold or were given (by referral or dispatch)."""

    serializer_class = CaseSerializer
    filterset_class = CaseFilter
    lookup_value_regex = "[0-9]+"

    def audit_case_ids(self, objects) -> list[int]:
        return [c.pk for c in objects]

    def get_queryset(self):
        qs = selectors.visible_cases(self.request.user).select_related(
            "person", "owning_organisation"
        )
        return qs.order_by("-id")

    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        case = self.get_object()  # audited by AuditedReads
        return Response(CaseSerializer(case).data)

    @extend_schema(request=CaseCreateSerializer, responses={201: CaseSerializer})
    def create(self, request):
        body = CaseCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        org = data.get("owning_organisation") or _single_case_organisation(request.user)
        case = services.open_case(
            request.user,
            person=data["person"],
            owning_organisation=org,
            risk=data["risk"],
            stage=data["stage"],
            summary=data["summary"],
        )
        return Response(CaseSerializer(case).data, status=status.HTTP_201_CREATED)

    def _act(self, request, serializer_class, fn):
        case = self.get_object()
        body = serializer_class(data=request.data)
        body.is_valid(raise_exception=True)
        case = fn(case, body.validated_data)
        return Response(CaseSerializer(case).data)

    @extend_schema(request=AdvanceSerializer, responses=CaseSerializer)
    @action(detail=True, methods=["post"])
    def advance(self, request, pk=None):
        """Move the case forward along the loop."""
        return self._act(
            request,
            AdvanceSerializer,
            lambda c, d: services.advance_case(request.user, c, d["stage"], reason=d["reason"]),
        )

    @extend_schema(request=ReasonSerializer, responses=CaseSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        return self._act(
            request,
            ReasonSerializer,
            lambda c, d: services.close_case(request.user, c, reason=d["reason"]),
        )

    @extend_schema(request=ReasonSerializer, responses=CaseSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        return self._act(
            request,
            ReasonSerializer,
            lambda c, d: services.reopen_case(request.user, c, reason=d["reason"]),
        )

    @extend_schema(request=RiskSerializer, responses=CaseSerializer)
    @action(detail=True, methods=["post"])
    def risk(self, request, pk=None):
        return self._act(
            request,
            RiskSerializer,
            lambda c, d: services.set_risk(request.user, c, d["risk"], reason=d["reason"]),
        )

    @extend_schema(request=NextStepSerializer, responses=CaseSerializer)
    @action(detail=True, methods=["post"], url_path="next-step")
    def next_step(self, request, pk=None):
        return self._act(
            request,
            NextStepSerializer,
            lambda c, d: services.set_next_step(
                request.user, c, next_step=d["next_step"], due=d["due"], owner=d.get("owner")
            ),
        )

    @extend_schema(responses=EventSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def timeline(self, request, pk=None):
        """The case's history from the event log (全程留痕), oldest first: the events addressed
        to the reader (the live feed's rule; a hospital does not read the hotline's triage)."""
        case = self.get_object()  # audited by AuditedReads
        return Response(EventSerializer(case_timeline(case, request.user), many=True).data)


def _single_case_organisation(user) -> Organisation:
    orgs = selectors.case_organisation_ids(user)
    if len(orgs) != 1:
        if not orgs:
            raise Forbidden("You are not a case worker of any organisation.")
        raise Invalid("You work for several organisations: say which one owns the case.")
    return get_object_or_404(Organisation, pk=orgs.pop())
