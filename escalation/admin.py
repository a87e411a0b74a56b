from django import forms
from django.contrib import admin

from escalation.models import (
    Alert,
    Dispatch,
    DispatchLeg,
    DutyShift,
    EscalationPolicy,
    InboundMessage,
    OutboundMessage,
    Timer,
    WorkerHeartbeat,
)
from escalation.policies import validate_steps
from hotline.admin_audit import AuditedAdmin


@admin.register(DutyShift)
class DutyShiftAdmin(admin.ModelAdmin):
    list_display = ["user", "organisation", "role", "starts_at", "ends_at"]
    list_filter = ["role", "organisation"]


class LegInline(admin.TabularInline):
    model = DispatchLeg
    extra = 0
    can_delete = False
    readonly_fields = [
        "kind",
        "organisation",
        "responder",
        "state",
        "short_code",
        "ack_deadline",
        "acknowledged_at",
        "acknowledged_via",
        "failure_reason",
    ]
    exclude = ["acknowledged_by", "notified_at", "state_changed_at"]


class MessageInline(admin.TabularInline):
    model = OutboundMessage
    fk_name = "dispatch"
    extra = 0
    can_delete = False
    fields = ["channel", "to", "status", "attempts", "last_error", "sent_at"]
    readonly_fields = fields


@admin.register(Dispatch)
class DispatchAdmin(AuditedAdmin, admin.ModelAdmin):
    list_display = ["id", "case", "status", "outcome", "help_reached", "created_at"]
    list_filter = ["status", "outcome"]
    readonly_fields = ["status", "case", "created_by", "created_at", "closed_at"]
    inlines = [LegInline, MessageInline]


class EscalationPolicyForm(forms.ModelForm):
    """A policy that could never fire is refused here, as the API's serializer refuses it."""

    class Meta:
        model = EscalationPolicy
        fields = ["name", "alert_kind", "steps", "max_rounds"]

    def clean_steps(self):
        steps = self.cleaned_data["steps"]
        errors = validate_steps(steps)
        if errors:
            raise forms.ValidationError(errors)
        return steps


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(admin.ModelAdmin):
    form = EscalationPolicyForm
    list_display = ["name", "alert_kind", "max_rounds", "updated_at"]


@admin.register(Alert)
class AlertAdmin(AuditedAdmin, admin.ModelAdmin):
    list_display = ["id", "title", "kind", "severity", "state", "round", "step", "next_step_at"]
    list_filter = ["state", "severity", "kind"]
    readonly_fields = ["state", "policy_snapshot", "round", "step", "notified_user_ids"]


@admin.register(OutboundMessage)
class OutboundMessageAdmin(admin.ModelAdmin):
    list_display = ["id", "channel", "to", "status", "gateway", "attempts", "created_at", "sent_at"]
    list_filter = ["channel", "status", "gateway"]
    search_fields = ["to", "provider_sid"]


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    list_display = ["message_sid", "from_number", "body", "leg", "alert", "received_at"]


@admin.register(Timer)
class TimerAdmin(admin.ModelAdmin):
    list_display = ["key", "kind", "due_at", "fired_at", "fired_by", "fire_count"]
    list_filter = ["kind"]


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["worker", "beat_at", "started_at", "fired"]
