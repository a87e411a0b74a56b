"""The owner and the next step of an open case, computed from its open items (never left empty).

Later apps register where a case's open work lives (``register_item_source``): referrals (the
acknowledgement, the first appointment), appointments, admissions, follow-ups, assistance-plan
check-ins, one-key dispatches. ``refresh_next_step`` runs inside the transaction of every service
that changes one of those, so the case's ``next_step``/``next_step_due`` and who answers for it
are never behind the facts:

- the next step is the open item due first;
- a case with no open item and no decision is itself an item, "decide: close or plan", due
  ``CASE_IDLE_HOURS`` after it became idle (the worker alerts the owner when it is missed);
- who answers for it, by rule: the hospital while the person is admitted; the referral's receiver
  once it acknowledged; the follow-up's assignee (or organisation) after; until then the owning
  organisation's on-duty coordinator (排班), or the owner a coordinator named.

A step a coordinator sets by hand (``set_next_step``) stands until the case's work changes (the
next refresh) and always has a due time.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from directory.models import Membership, Role
from hotline.models import Case, ResponsibleRole, Shift
from realtime.publish import publish

DECIDE = "decide"
MANUAL = "manual"

# Who takes the case from the coordinator, strongest first (the rule above).
CLAIM_FOLLOW_UP = 1
CLAIM_REFERRAL = 2
CLAIM_ADMISSION = 3


@dataclass(frozen=True)
class OpenItem:
    """One piece of open work on a case. ``claim`` > 0: whoever does it answers for the case
    (``role``, ``organisation_id``, ``user_id``); ``covers``: keys of items this one stands for
    (an admission covers its referral, so "record the referral's outcome" is not the step)."""

    key: str
    kind: str
    text: str
    due: datetime
    claim: int = 0
    role: str = ""
    organisation_id: int | None = None
    user_id: int | None = None
    covers: tuple[str, ...] = ()


_sources: list[Callable[[Case], Iterable[OpenItem]]] = []


def register_item_source(fn: Callable[[Case], Iterable[OpenItem]]) -> Callable:
    if fn not in _sources:
        _sources.append(fn)
    return fn


def open_items(case: Case) -> list[OpenItem]:
    """Every open item of the case, first due first (covered ones left out)."""
    items = [item for source in _sources for item in source(case)]
    covered = {key for item in items for key in item.covers}
    return sorted((i for i in items if i.key not in covered), key=lambda i: (i.due, i.key))


def on_duty_coordinator(organisation_id: int, now: datetime | None = None):
    """The coordinator of the organisation on a rostered shift now (shift leads first)."""
    now = now or timezone.now()
    coordinator = Membership.objects.active().filter(
        user=OuterRef("user"), organisation_id=organisation_id, role=Role.COORDINATOR
    )
    shifts = list(
        Shift.objects.filter(hotline_id=organisation_id, starts_at__lte=now, ends_at__gt=now)
        .filter(Exists(coordinator), user__is_active=True)
        .select_related("user")
        .order_by("starts_at", "user__username")
    )
    shifts.sort(key=lambda s: s.duty_role != Shift.DutyRole.LEAD)  # stable: leads first
    return shifts[0].user if shifts else None


def _responsible(case: Case, items: list[OpenItem], now: datetime) -> tuple[str, int, object]:
    """(role, organisation id, user or None) answering for the case now."""
    claims = [i for i in items if i.claim]
    if claims:
        top = max(claims, key=lambda i: (i.claim, -i.due.timestamp()))
        return top.role, top.organisation_id, top.user_id
    # Nobody has taken it: the owner a coordinator named, else the coordinator on duty.
    user = case.owner_id
    if user is None:
        user = getattr(on_duty_coordinator(case.owning_organisation_id, now), "pk", None)
    return ResponsibleRole.COORDINATOR, case.owning_organisation_id, user


def compute(
    case: Case,
    *,
    now: datetime | None = None,
    manual: tuple | None = None,
    items: list[OpenItem] | None = None,
) -> dict:
    """The fields ``refresh_next_step`` stores, for an open case. ``manual``: a step set by hand,
    (text, due), which stands in front of the computed one; ``items``: the open items when the
    caller knows them (a case just inserted has none)."""
    now = now or timezone.now()
    items = open_items(case) if items is None else items
    if manual is not None:
        text, due = manual
        kind, due = MANUAL, due or now + timedelta(hours=settings.CASE_IDLE_HOURS)
    elif items:
        text, due, kind = items[0].text, items[0].due, items[0].kind
    else:
        text, kind = _("Decide: close or plan"), DECIDE
        # Idle since it became idle: a recompute of an idle case keeps the clock it had.
        due = (
            case.next_step_due
            if case.next_step_kind == DECIDE and case.next_step_due
            else now + timedelta(hours=settings.CASE_IDLE_HOURS)
        )
    role, organisation_id, user_id = _responsible(case, items, now)
    return {
        "next_step": str(text)[:200],
        "next_step_due": due,
        "next_step_kind": kind,
        "responsible_role": role,
        "responsible_organisation_id": organisation_id,
        "responsible_user_id": user_id,
    }


CLOSED_FIELDS = {
    "next_step": "",
    "next_step_due": None,
    "next_step_kind": "",
    "responsible_role": "",
    "responsible_organisation_id": None,
    "responsible_user_id": None,
}


def refresh_next_step(
    case: Case, actor=None, *, manual: tuple | None = None, announce: bool = True
) -> bool:
    """Recompute the case's next step and who answers for it, in the caller's transaction;
    publishes ``case.next_step_set`` when anything changed (``announce``: a new case's first step
    goes with ``case.opened`` instead). Returns whether anything changed.

    Call it last in the service's transaction: it locks the case row, and updates ``case`` (the
    caller's instance) too, so a later ``case.save()`` cannot write the old values back."""
    fresh = Case.objects.select_for_update().get(pk=case.pk)
    fields = compute(fresh, manual=manual) if fresh.is_open else CLOSED_FIELDS
    changed = {name: value for name, value in fields.items() if getattr(fresh, name) != value}
    for name, value in fields.items():
        setattr(case, name, value)
    if not changed:
        return False
    for name, value in fields.items():
        setattr(fresh, name, value)
    fresh.save(update_fields=[name.removesuffix("_id") for name in fields])
    if fresh.is_open and announce:
        publish("case.next_step_set", case=fresh, actor=actor, data=next_step_data(fresh))
    return True


def next_step_data(case: Case) -> dict:
    return {
        "next_step": case.next_step,
        "due": case.next_step_due.isoformat() if case.next_step_due else None,
        "owner": case.owner_id,
        "kind": case.next_step_kind,
        "responsible_role": case.responsible_role,
        "responsible_organisation": case.responsible_organisation_id,
        "responsible_user": case.responsible_user_id,
    }
