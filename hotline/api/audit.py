"""Read audit for API viewsets: one audit event per GET, naming the cases shown."""

from rest_framework.permissions import SAFE_METHODS

from hotline.services.reads import record_read


class AuditedReads:
    """Mix into a GenericAPIView: a list names the cases on the page it returns, a detail read
    (retrieve or a GET action) the object's case. ``audit_case_ids(objects)`` maps rows to case
    ids (default: their ``case_id``); people are named by ``audit_people = True``.

    Hooks the documented ``paginate_queryset`` and ``get_object``; the view instance lives for one
    request, so ``audit_done`` keeps it to one event per request."""

    audit_done = False
    audited_actions: tuple[str, ...] = ()  # POST actions that only read (a search by body)

    def audit_case_ids(self, objects) -> list[int]:
        return [getattr(o, "case_id", None) for o in objects]

    def audit_person_ids(self, objects) -> list[int]:
        return []

    def audit(self, objects) -> None:
        reading = self.request.method in SAFE_METHODS or self.action in self.audited_actions
        if self.audit_done or not reading:
            return
        self.audit_done = True
        what = f"{self.basename}.{self.action}"
        record_read(
            self.request.user,
            what=what,
            case_ids=self.audit_case_ids(objects),
            person_ids=self.audit_person_ids(objects),
        )

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        self.audit(page if page is not None else list(queryset))
        return page

    def get_object(self):
        obj = super().get_object()
        self.audit([obj])
        return obj
