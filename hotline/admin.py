from django.contrib import admin

from hotline.admin_audit import AuditedAdmin
from hotline.models import Case, CaseAccess, GuardianContact, HotlineLine, Person, StageVisit


class GuardianInline(admin.TabularInline):
    model = GuardianContact
    extra = 0


@admin.register(Person)
class PersonAdmin(AuditedAdmin, admin.ModelAdmin):
    list_display = ["id", "__str__", "phone", "home_region", "created_at"]
    search_fields = ["name", "phone"]
    inlines = [GuardianInline]

    def audit_person_ids(self, objects) -> list[int]:
        return [p.pk for p in objects]


class StageVisitInline(admin.TabularInline):
    model = StageVisit
    extra = 0
    readonly_fields = ["stage", "entered_at", "left_at"]
    can_delete = False


class CaseAccessInline(admin.TabularInline):
    model = CaseAccess
    extra = 0
    readonly_fields = ["organisation", "reason", "granted_by", "granted_at", "revoked_at"]
    can_delete = False


@admin.register(Case)
class CaseAdmin(AuditedAdmin, admin.ModelAdmin):
    """Read-only here: stage and risk change only through the services, so they are logged."""

    list_display = ["id", "person", "stage", "risk", "owning_organisation", "next_step_due"]
    list_filter = ["stage", "risk", "owning_organisation"]
    readonly_fields = [f.name for f in Case._meta.fields]
    inlines = [StageVisitInline, CaseAccessInline]

    def audit_case_ids(self, objects) -> list[int]:
        return [c.pk for c in objects]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(HotlineLine)
class HotlineLineAdmin(admin.ModelAdmin):
    """Which numbers record their calls, and the consent announcement each plays (录音告知)."""

    list_display = ["number", "organisation", "record_calls", "announcement"]
    list_filter = ["record_calls"]
