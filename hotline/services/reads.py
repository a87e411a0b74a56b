"""The read audit (查阅留痕): every read of personal data, inside the owning organisation or not,
is one audit-only event per request naming the cases (and people) shown.

Cheap by design: one event row plus one index row per case shown, written in the request's own
transaction; nothing is broadcast. A list with nothing on it writes nothing.
"""

from collections.abc import Iterable

from directory.access import memberships
from hotline.models import Case
from realtime.audit import READ, record_audit


def record_read(
    user,
    *,
    what: str,
    case_ids: Iterable[int] = (),
    person_ids: Iterable[int] = (),
    details: dict | None = None,
) -> None:
    """Put one read on the audit trail: who, what (the screen or API operation), which cases and
    people, and from which organisations (the reader's at the time of reading)."""
    cases = {int(i) for i in case_ids if i is not None}
    people = sorted({int(i) for i in person_ids if i is not None})
    if people:
        cases |= set(Case.objects.filter(person_id__in=people).values_list("pk", flat=True))
    if not cases and not people:
        return
    orgs = sorted({(m.organisation_id, m.organisation.name) for m in memberships(user)})
    data = {
        "what": what,
        "user": user.pk,
        "username": user.get_username(),
        "organisations": [{"id": i, "name": name} for i, name in orgs],
    }
    if people:
        data["people"] = people
    if details:
        data.update(details)
    record_audit(READ, actor=user, data=data, case_ids=cases)
