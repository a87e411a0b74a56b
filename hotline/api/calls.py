"""REST API of the hotline console: calls, operators' presence, the roster, triage preview."""

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import ModelSerializer, MomentField
from core.errors import Forbidden, Invalid
from directory.models import Organisation
from hotline import selectors, services, voice
from hotline import triage as triage_rule
from hotline.api.audit import AuditedReads
from hotline.api.cases import CaseSerializer, FlagSerializer, PersonSerializer, active_flags
from hotline.conversation_models import ContactMessage
from hotline.conversations import delivery_error_text
from hotline.models import (
    MANUAL_CHANNEL_CHOICES,
    SETTABLE_PRESENCE_CHOICES,
    TEXT_CHANNELS,
    VOICE_CHANNELS,
    WAITING_STATUSES,
    Call,
    CallChannel,
    CallerRelation,
    Device,
    Disposition,
    OperatorPresence,
    Person,
    Risk,
    Triage,
)
from hotline.queue import effective_priority
from hotline.services import conversations


class IsHotlineStaff(BasePermission):
    """Operators (to act), coordinators and administrators (to read) of a hotline centre."""

    message = "Only hotline operators, coordinators and administrators may use the hotline API."

    def has_permission(self, request, view) -> bool:
        return bool(selectors.reader_hotline_ids(request.user))


class TriageSummarySerializer(ModelSerializer):
    class Meta:
        model = Triage
        fields = ["id", "derived_risk", "risk", "disposition", "lowered_reason", "created_at"]
        read_only_fields = fields


class CallSerializer(ModelSerializer):
    from_number = serializers.SerializerMethodField()
    person_name = serializers.SerializerMethodField()
    operator_name = serializers.SerializerMethodField()
    effective_priority = serializers.SerializerMethodField()
    risk = serializers.SerializerMethodField()
    risk_assessed = serializers.SerializerMethodField()
    triage = serializers.SerializerMethodField()
    person_flags = serializers.SerializerMethodField()
    overflowed_from = serializers.SerializerMethodField()
    overflowed_to = serializers.SerializerMethodField()

    class Meta:
        model = Call
        fields = [
            "id",
            "call_sid",
            "channel",
            "status",
            "from_number",
            "caller_name",
            "caller_relation",
            "person",
            "person_name",
            "person_flags",
            "case",
            "risk",
            "risk_assessed",
            "priority",
            "priority_reasons",
            "effective_priority",
            "operator",
            "operator_name",
            "offered_to",
            "offer_expires_at",
            "callback_of",
            "connected_via",
            "connect_target",
            "queued_at",
            "offered_at",
            "answered_at",
            "ended_at",
            "wrap_up_started_at",
            "wrap_up_ended_at",
            "wrap_up_seconds",
            "notes",
            "triage",
            "hotline",
            "answering_centre",
            "overflowed_at",
            "overflow_reason",
            "overflowed_from",
            "overflowed_to",
        ]
        read_only_fields = fields

    def get_overflowed_from(self, call) -> str:
        """溢出来电: the owning centre's name on a call overflowed to a partner."""
        return call.hotline.name if call.answering_centre_id else ""

    def get_overflowed_to(self, call) -> str:
        return call.answering_centre.name if call.answering_centre_id else ""

    def get_from_number(self, call) -> str:
        if call.channel == CallChannel.WECHAT:
            return ""  # the openid is WeChat's key, not a number anyone can use or read
        return str(call.from_number) if call.from_number else call.from_raw

    def get_person_name(self, call) -> str:
        return str(call.person) if call.person_id else ""

    @extend_schema_field(FlagSerializer(many=True))
    def get_person_flags(self, call):
        """The person's live flags: shown on the offer before anyone answers."""
        return active_flags(call.person) if call.person_id else []

    def get_operator_name(self, call) -> str:
        return str(call.operator) if call.operator_id else ""

    def get_effective_priority(self, call) -> float:
        return effective_priority(call)

    def get_risk(self, call) -> str | None:
        return call.case.risk if call.case_id else None

    def get_risk_assessed(self, call) -> bool:
        """False for a case nobody has screened: the console shows "未评估", never "no risk"."""
        if not call.case_id:
            return False
        return call.case.risk != "none" or call.case.triages.exists()

    @extend_schema_field(TriageSummarySerializer(allow_null=True))
    def get_triage(self, call):
        triage = getattr(call, "triage", None) if call.status not in WAITING_STATUSES else None
        return TriageSummarySerializer(triage).data if triage else None


class CallHistorySerializer(serializers.Serializer):
    case = CaseSerializer(allow_null=True)
    person = PersonSerializer(allow_null=True)
    previous_calls = CallSerializer(many=True)


class CallDetailSerializer(CallSerializer):
    history = serializers.SerializerMethodField()

    class Meta(CallSerializer.Meta):
        fields = [*CallSerializer.Meta.fields, "history"]
        read_only_fields = fields

    @extend_schema_field(CallHistorySerializer)
    def get_history(self, call):
        """What the operator sees before speaking: the case, its stage and risk, earlier calls."""
        return {
            "case": CaseSerializer(call.case).data if call.case_id else None,
            "person": PersonSerializer(call.person).data if call.person_id else None,
            "previous_calls": CallSerializer(selectors.previous_calls(call), many=True).data,
        }


class ContactMessageSerializer(ModelSerializer):
    """One message of a text conversation's transcript (文字会话记录)."""

    author_name = serializers.SerializerMethodField()
    error_text = serializers.SerializerMethodField()
    resent_as = serializers.SerializerMethodField()

    class Meta:
        model = ContactMessage
        fields = [
            "id",
            "direction",
            "body",
            "author",
            "author_name",
            "created_at",
            "delivery_status",
            "error_code",
            "error_text",
            "resend_of",
            "resent_as",
        ]
        read_only_fields = fields

    def get_author_name(self, message) -> str:
        return str(message.author) if message.author_id else ""

    def get_error_text(self, message) -> str:
        """Why the message was not delivered, in words (the error code explained)."""
        return delivery_error_text(message.error_code, message.call.channel)

    def get_resent_as(self, message) -> int | None:
        """重发: the message that sent this failed one again, if it was."""
        resent = getattr(message, "resent_as", None)
        return resent.pk if resent is not None else None


class ReplySerializer(serializers.Serializer):
    body = serializers.CharField(max_length=4000, trim_whitespace=True)


CHANNEL_FILTERS = {
    "sms": ["sms"],
    "webchat": ["webchat"],
    "wechat": ["wechat"],
    "voice": VOICE_CHANNELS,
}


class ManualCallSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=MANUAL_CHANNEL_CHOICES)
    from_number = serializers.CharField(required=False, allow_blank=True, default="")
    caller_name = serializers.CharField(required=False, allow_blank=True, default="")
    caller_relation = serializers.ChoiceField(
        choices=CallerRelation.choices, default=CallerRelation.UNKNOWN
    )
    person = serializers.PrimaryKeyRelatedField(
        queryset=Person.objects.all(), required=False, allow_null=True, default=None
    )
    notes = serializers.CharField(required=False, allow_blank=True, default="")


class IdentifySerializer(serializers.Serializer):
    caller_relation = serializers.ChoiceField(choices=CallerRelation.choices)
    caller_name = serializers.CharField(required=False, allow_blank=True)
    person = serializers.PrimaryKeyRelatedField(
        queryset=Person.objects.all(), required=False, allow_null=True, default=None
    )


class TriageSerializer(serializers.Serializer):
    """The screen items may be null/absent here: the service names every missing one (400)."""

    wish_to_be_dead = serializers.BooleanField(required=False, allow_null=True, default=None)
    active_thoughts = serializers.BooleanField(required=False, allow_null=True, default=None)
    method_thoughts = serializers.BooleanField(required=False, allow_null=True, default=None)
    intent = serializers.BooleanField(required=False, allow_null=True, default=None)
    plan = serializers.BooleanField(required=False, allow_null=True, default=None)
    behaviour_3_months = serializers.BooleanField(required=False, allow_null=True, default=None)
    behaviour_ever = serializers.BooleanField(required=False, allow_null=True, default=None)
    harm_to_others = serializers.BooleanField(required=False, allow_null=True, default=None)
    in_danger_now = serializers.BooleanField(required=False, allow_null=True, default=None)
    protective_factors = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, default=list
    )
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    risk = serializers.ChoiceField(choices=Risk.choices, required=False, allow_null=True)
    lowered_reason = serializers.CharField(required=False, allow_blank=True, default="")
    disposition = serializers.ChoiceField(choices=Disposition.choices)
    override_reason = serializers.CharField(required=False, allow_blank=True, default="")
    consent = serializers.BooleanField(required=False, default=True)
    consent_override_reason = serializers.CharField(required=False, allow_blank=True, default="")
    contact_phone = serializers.CharField(required=False, allow_blank=True, default="")
    location = serializers.CharField(required=False, allow_blank=True, default="")


class CreatedReferralSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    receiver = serializers.IntegerField(source="receiver_id")
    receiver_name = serializers.CharField(source="receiver.name")
    state = serializers.CharField()
    ack_due_at = MomentField()


class CreatedDispatchSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()


class CreatedFollowUpSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    due_at = MomentField()
    organisation = serializers.IntegerField(source="organisation_id")


def _created(triage, label: str) -> list:
    # The disposition's receivers live in apps above the hotline; they are told apart by label.
    return [o for o in getattr(triage, "created", []) if o._meta.label_lower == label]


class TriageResultSerializer(ModelSerializer):
    """The triage and what its disposition created: a client never has to look it up."""

    referral = serializers.SerializerMethodField()
    dispatch = serializers.SerializerMethodField()
    follow_ups = serializers.SerializerMethodField()

    class Meta:
        model = Triage
        exclude = ["operator"]
        read_only_fields = [f.name for f in Triage._meta.fields]

    @extend_schema_field(CreatedReferralSerializer(allow_null=True))
    def get_referral(self, triage):
        found = _created(triage, "referrals.referral")
        return CreatedReferralSerializer(found[0]).data if found else None

    @extend_schema_field(CreatedDispatchSerializer(allow_null=True))
    def get_dispatch(self, triage):
        found = _created(triage, "escalation.dispatch")
        return CreatedDispatchSerializer(found[0]).data if found else None

    @extend_schema_field(CreatedFollowUpSerializer(many=True))
    def get_follow_ups(self, triage):
        return CreatedFollowUpSerializer(_created(triage, "clinics.followup"), many=True).data


class TriageDraftSerializer(serializers.Serializer):
    """研判草稿: the triage form's fields answered so far (any subset, checked like the triage's
    own), and when the server saved them."""

    answers = serializers.DictField()
    saved_at = MomentField(read_only=True, allow_null=True)

    def validate_answers(self, value):
        unknown = sorted(set(value) - set(TriageSerializer().fields) - {"disposition"})
        if unknown:
            raise serializers.ValidationError(_("Unknown field."))
        form = TriageSerializer(data=value, partial=True)
        if not form.is_valid():
            raise serializers.ValidationError(form.errors)
        answers = dict(form.validated_data)
        answers.pop("disposition", None)
        return answers


class WrapUpSerializer(serializers.Serializer):
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    sms_consent = serializers.BooleanField(
        required=False,
        default=False,
        help_text="The caller agreed on the call to an SMS with the hotline's numbers.",
    )


class CallViewSet(
    AuditedReads, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Hotline calls: the queue, my calls, today's calls; accept, triage, wrap-up."""

    permission_classes = [IsAuthenticated, IsHotlineStaff]
    serializer_class = CallSerializer
    lookup_value_regex = "[0-9]+"

    def audit_person_ids(self, objects) -> list[int]:
        return [c.person_id for c in objects]

    def get_queryset(self):
        user = self.request.user
        qs = selectors.visible_calls(user).select_related(
            "person", "case", "operator", "triage", "hotline", "answering_centre"
        )
        view = self.request.query_params.get("view", "")
        if view == "queue":
            for hotline_id in selectors.operator_hotline_ids(user):
                services.expire_offers(hotline_id, user)
            # The centres' own queues: an overflowed call waits in the partner's.
            centres = selectors.at_centres(selectors.reader_hotline_ids(user))
            return qs.filter(centres, status__in=WAITING_STATUSES).order_by("rank_at", "id")
        if view == "mine":
            qs = qs.filter(operator=user)
        elif view == "today":
            start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
            qs = qs.filter(queued_at__gte=start)
        elif view:
            raise Invalid("view is one of queue, mine, today.", fields={"view": ["Unknown."]})
        channel = self.request.query_params.get("channel", "")
        if channel:
            if channel not in CHANNEL_FILTERS:
                raise Invalid(
                    _("channel is one of sms, webchat, wechat, voice."),
                    fields={"channel": [_("Unknown value.")]},
                )
            qs = qs.filter(channel__in=CHANNEL_FILTERS[channel])
        return qs.order_by("-queued_at", "-id")

    def get_serializer_class(self):
        return CallDetailSerializer if self.action == "retrieve" else CallSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("view", str, enum=["queue", "mine", "today"]),
            OpenApiParameter(
                "channel",
                str,
                enum=list(CHANNEL_FILTERS),
                description="sms, webchat, wechat, or voice (every telephone channel)",
            ),
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        call = self.get_object()  # audited by AuditedReads
        return Response(CallDetailSerializer(call).data)

    @extend_schema(request=ManualCallSerializer, responses={201: CallDetailSerializer})
    def create(self, request):
        """Enter a walk-in, a transfer from 110 or an appointment-line call (same flow after)."""
        body = ManualCallSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        call = services.enter_manual_call(request.user, **body.validated_data)
        return Response(CallDetailSerializer(call).data, status=status.HTTP_201_CREATED)

    def _reload(self, call) -> Response:
        call = (
            self.get_queryset()
            .model.objects.select_related("person", "case", "operator")
            .get(pk=call.pk)
        )
        return Response(CallDetailSerializer(call).data)

    @extend_schema(request=None, responses=CallDetailSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        """Take this call (409 if another operator got it first)."""
        return self._reload(services.accept_call(request.user, self.get_object()))

    @extend_schema(
        request=None,
        responses={
            200: CallDetailSerializer,
            404: OpenApiResponse(description="No call is waiting in the user's queue."),
        },
    )
    @action(detail=False, methods=["post"], url_path="next/accept")
    def accept_next(self, request):
        """Take the first call in queue order (or the one offered to me)."""
        return self._reload(services.accept_call(request.user))

    @extend_schema(request=IdentifySerializer, responses=CallDetailSerializer)
    @action(detail=True, methods=["post"])
    def identify(self, request, pk=None):
        """Who is calling, and about whom."""
        call = self.get_object()
        body = IdentifySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._reload(services.identify_caller(request.user, call, **body.validated_data))

    @extend_schema(request=TriageSerializer, responses=TriageResultSerializer)
    @action(detail=True, methods=["post"])
    def triage(self, request, pk=None):
        """The risk screen and one disposition: resolved, refer, continue the existing referral
        (``continue_referral``: a person whose case already has an open referral) or emergency."""
        call = self.get_object()
        body = TriageSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        screen = {item: data.pop(item) for item in triage_rule.ITEMS}
        triage = services.triage_call(request.user, call, screen=screen, **data)
        return Response(TriageResultSerializer(triage).data)

    @extend_schema(request=TriageDraftSerializer, responses=TriageDraftSerializer)
    @action(detail=True, methods=["get", "put"], url_path="triage-draft")
    def triage_draft(self, request, pk=None):
        """The risk screen's draft (研判草稿) of the call I hold: read it back after a reload,
        or replace it with the answers so far; recording the triage deletes it."""
        call = self.get_object()
        if request.method == "PUT":
            body = TriageDraftSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            draft = services.save_triage_draft(request.user, call, body.validated_data["answers"])
            answers, saved_at = body.validated_data["answers"], draft.saved_at
        else:
            answers, saved_at = services.triage_draft(request.user, call)
        return Response(TriageDraftSerializer({"answers": answers, "saved_at": saved_at}).data)

    @extend_schema(
        methods=["GET"],
        parameters=[OpenApiParameter("after", int, description="only messages after this id")],
        responses=ContactMessageSerializer(many=True),
    )
    @extend_schema(
        methods=["POST"],
        request=ReplySerializer,
        responses={201: ContactMessageSerializer(many=True)},
    )
    @action(detail=True, methods=["get", "post"])
    def messages(self, request, pk=None):
        """The transcript of a text conversation (GET, ``?after=<id>`` for what is new), or a
        reply by the operator holding it (POST: an SMS reply longer than one segment is sent,
        and answered, as several messages)."""
        call = self.get_object()
        if call.channel not in TEXT_CHANNELS:
            raise Invalid(_("This is a phone call, not a text conversation."), code="not_text")
        if request.method == "POST":
            body = ReplySerializer(data=request.data)
            body.is_valid(raise_exception=True)
            sent = services.send_reply(call, request.user, body.validated_data["body"])
            # Read back: the SMS went out on commit and each part has its first status now.
            parts = conversations.transcript(call).filter(pk__in=[m.pk for m in sent.parts])
            return Response(
                ContactMessageSerializer(parts, many=True).data,
                status=status.HTTP_201_CREATED,
            )
        after = request.query_params.get("after", "0")
        if not after.isdigit() or len(after) > 18:
            raise Invalid(_("after is a message id."), fields={"after": [_("Not a number.")]})
        messages = conversations.transcript(call, after=int(after))
        return Response(ContactMessageSerializer(messages, many=True).data)

    @extend_schema(
        request=None,
        parameters=[
            OpenApiParameter(
                "message_id", int, OpenApiParameter.PATH, description="the failed reply's id"
            )
        ],
        responses={
            201: ContactMessageSerializer,
            403: OpenApiResponse(description="You do not hold this conversation."),
            404: OpenApiResponse(description="No such message in this conversation."),
            409: OpenApiResponse(
                description="The message did not fail, was already sent again, or the channel "
                "would refuse it now (WeChat's 48 hours: the person must write first)."
            ),
        },
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"messages/(?P<message_id>[0-9]{1,18})/resend",
        url_name="message-resend",
    )
    def resend(self, request, pk=None, message_id=None):
        """重发: send a failed reply again, once (a new message with the same body; the failed
        one stays failed). Only by the operator holding the conversation."""
        call = self.get_object()
        if call.channel not in TEXT_CHANNELS:
            raise Invalid(_("This is a phone call, not a text conversation."), code="not_text")
        sent = services.resend_message(call, request.user, int(message_id))
        # Read back: the message went out on commit and has its first status now.
        sent = conversations.transcript(call).get(pk=sent.pk)
        return Response(ContactMessageSerializer(sent).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=CallDetailSerializer)
    @action(detail=True, methods=["post"], url_path="end")
    def end(self, request, pk=None):
        """End the text conversation I hold (the person is told); triage and wrap-up follow."""
        call = self.get_object()
        if call.channel not in TEXT_CHANNELS:
            raise Invalid(_("This is a phone call, not a text conversation."), code="not_text")
        return self._reload(
            services.end_conversation(call, reason="operator", by_user=request.user)
        )

    @extend_schema(request=None, responses={204: None})
    @action(detail=True, methods=["post"])
    def typing(self, request, pk=None):
        """I am typing a reply (the web-chat visitor sees an indicator)."""
        conversations.operator_typing(self.get_object(), request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=WrapUpSerializer, responses=CallDetailSerializer)
    @action(detail=True, methods=["post"], url_path="wrap-up")
    def wrap_up(self, request, pk=None):
        """End the wrap-up: the call is completed and the operator is available again."""
        call = self.get_object()
        body = WrapUpSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._reload(services.wrap_up_call(request.user, call, **body.validated_data))


class PresenceSerializer(ModelSerializer):
    operator = serializers.IntegerField(source="user_id", read_only=True)
    operator_name = serializers.SerializerMethodField()

    class Meta:
        model = OperatorPresence
        fields = [
            "operator",
            "operator_name",
            "hotline",
            "status",
            "device",
            "since",
            "last_idle_at",
        ]
        read_only_fields = fields

    def get_operator_name(self, p) -> str:
        return str(p.user)


class PresenceUpdateSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=SETTABLE_PRESENCE_CHOICES, required=False, allow_null=True, default=None
    )
    device = serializers.ChoiceField(
        choices=Device.choices, required=False, allow_null=True, default=None
    )


class MyPresenceView(APIView):
    """My presence on the line: available, on a call, wrap-up, on a break, offline."""

    permission_classes = [IsAuthenticated, IsHotlineStaff]

    @extend_schema(responses=PresenceSerializer)
    def get(self, request):
        hotlines = selectors.operator_hotline_ids(request.user)
        if not hotlines:
            raise Forbidden("Only hotline operators have a presence on the line.")
        presence = OperatorPresence.objects.filter(user=request.user).first()
        if presence is None:
            presence = OperatorPresence(user=request.user, hotline_id=min(hotlines))
        return Response(PresenceSerializer(presence).data)

    @extend_schema(request=PresenceUpdateSerializer, responses=PresenceSerializer)
    def put(self, request):
        body = PresenceUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        presence = services.set_presence(request.user, **body.validated_data)
        return Response(PresenceSerializer(presence).data)


class VoiceTokenSerializer(serializers.Serializer):
    token = serializers.CharField()
    identity = serializers.CharField()
    ttl = serializers.IntegerField()


class VoiceTokenView(APIView):
    """A short-lived Twilio Voice access token for the browser console."""

    permission_classes = [IsAuthenticated, IsHotlineStaff]

    @extend_schema(request=None, responses=VoiceTokenSerializer)
    def post(self, request):
        if not selectors.operator_hotline_ids(request.user):
            raise Forbidden("Only hotline operators take calls in the browser.")
        token, identity, ttl = voice.voice_token(request.user)
        return Response({"token": token, "identity": identity, "ttl": ttl})


class OnDutySerializer(serializers.Serializer):
    operator = serializers.IntegerField(source="user_id")
    operator_name = serializers.CharField(source="user.__str__")
    duty_role = serializers.CharField()
    starts_at = MomentField()
    ends_at = MomentField()
    presence = serializers.SerializerMethodField()

    def get_presence(self, shift) -> str:
        presence = getattr(shift.user, "hotline_presence", None)
        return presence.status if presence else "offline"


class RosterSerializer(serializers.Serializer):
    hotline = serializers.IntegerField()
    hotline_name = serializers.CharField()
    covered = serializers.BooleanField()
    on_duty = OnDutySerializer(many=True)


class RosterView(APIView):
    """Who is on duty now (值班表) on each hotline the user works for; ``covered`` is false when
    nobody is rostered, which the 24-hour line must show."""

    permission_classes = [IsAuthenticated, IsHotlineStaff]

    @extend_schema(responses=RosterSerializer(many=True))
    def get(self, request):
        now = timezone.now()
        out = []
        hotlines = Organisation.objects.filter(
            pk__in=selectors.reader_hotline_ids(request.user)
        ).order_by("pk")
        for hotline in hotlines:
            shifts = list(selectors.on_duty_now(hotline.pk, now))
            out.append(
                {
                    "hotline": hotline.pk,
                    "hotline_name": hotline.name,
                    "covered": bool(shifts),
                    "on_duty": shifts,
                }
            )
        return Response(RosterSerializer(out, many=True).data)


class TriagePreviewSerializer(serializers.Serializer):
    derived_risk = serializers.CharField(allow_null=True)
    missing = serializers.ListField(child=serializers.CharField())


class TriagePreviewView(APIView):
    """The risk the documented rule derives from the answers so far; writes nothing.

    The console shows it while the operator asks, so the rule lives in one place (the server).
    """

    permission_classes = [IsAuthenticated, IsHotlineStaff]

    @extend_schema(request=TriageSerializer, responses=TriagePreviewSerializer)
    def post(self, request):
        if not isinstance(request.data, dict):
            raise serializers.ValidationError(
                {"non_field_errors": [_("Send the answers as an object.")]}
            )
        screen = {
            item: request.data.get(item)
            for item in triage_rule.ITEMS
            if isinstance(request.data.get(item), bool)
        }
        missing = triage_rule.missing_items(screen)
        derived = None if missing else triage_rule.derive_risk(screen)
        return Response({"derived_risk": derived, "missing": missing})
