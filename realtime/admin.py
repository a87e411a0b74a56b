from django.contrib import admin

from realtime.models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    """The log is append-only: viewable, never editable."""

    list_display = ["id", "type", "at", "case", "actor"]
    list_filter = ["type"]
    readonly_fields = ["id", "type", "at", "case", "actor", "data"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
