"""Administrators see subscriptions, deliveries with their attempts, and partner systems."""

from django.contrib import admin
from django.utils.translation import gettext as _

from network.hooks import LEG_TYPES, REFERRAL_TYPES, types_for
from network.models import HookDelivery, HookSubscription, PartnerSystem


class DeliveryInline(admin.TabularInline):
    model = HookDelivery
    fields = ("event_type", "status", "attempts", "last_status_code", "next_attempt_at")
    readonly_fields = fields
    extra = 0
    max_num = 0
    show_change_link = True
    ordering = ("-id",)


@admin.register(HookSubscription)
class HookSubscriptionAdmin(admin.ModelAdmin):
    list_display = ("organisation", "url", "active", "created_at")
    list_filter = ("active", "organisation__kind")
    fields = ("organisation", "url", "event_types", "active", "secret")
    inlines = [DeliveryInline]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if "event_types" in form.base_fields:
            form.base_fields["event_types"].help_text = _(
                "A JSON list. Police, ambulance and community: %(legs)s. Hospitals and "
                "centres: %(referrals)s."
            ) % {"legs": ", ".join(LEG_TYPES), "referrals": ", ".join(REFERRAL_TYPES)}
        return form

    def save_model(self, request, obj, form, change):
        # A subscription may name only the event types its organisation is entitled to.
        allowed = set(types_for(obj.organisation))
        obj.event_types = [t for t in obj.event_types or [] if t in allowed]
        super().save_model(request, obj, form, change)


@admin.register(HookDelivery)
class HookDeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "subscription",
        "event_type",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "delivered_at",
    )
    list_filter = ("status", "event_type", "subscription__organisation")
    readonly_fields = (
        "subscription",
        "event",
        "event_type",
        "payload",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "created_at",
        "delivered_at",
    )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(PartnerSystem)
class PartnerSystemAdmin(admin.ModelAdmin):
    list_display = ("organisation", "acting_user", "active")
    list_filter = ("active",)
    raw_id_fields = ("acting_user",)
