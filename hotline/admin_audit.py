"""Read audit for Django admin pages: one audit event per change page or list page viewed."""

from django.contrib.admin.utils import unquote

from hotline.services.reads import record_read


class AuditedAdmin:
    """Mix into a ModelAdmin; hooks the documented ``changelist_view`` and ``change_view``."""

    def audit_case_ids(self, objects) -> list[int]:
        return [getattr(o, "case_id", None) for o in objects]

    def audit_person_ids(self, objects) -> list[int]:
        return []

    def audit(self, request, objects, what: str) -> None:
        record_read(
            request.user,
            what=f"admin.{self.opts.model_name}.{what}",
            case_ids=self.audit_case_ids(objects),
            person_ids=self.audit_person_ids(objects),
        )

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None) or {}
        if request.method == "GET" and "cl" in context:
            self.audit(request, list(context["cl"].result_list), "list")
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200:
            obj = self.get_object(request, unquote(object_id))
            if obj is not None:
                self.audit(request, [obj], "change")
        return response
