"""The person behind the calls: caller profile flags and merging two records of one person.

Every public function takes the acting user, checks permission, changes state atomically and
publishes (the events are the audit trail)."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Conflict, Forbidden, Invalid
from directory.access import has_role, is_administrator
from directory.models import Role
from hotline.closing import reasons_case_cannot_close
from hotline.models import (
    WAITING_STATUSES,
    Call,
    CallStatus,
    Case,
    FlagKind,
    GuardianContact,
    Person,
    PersonFlag,
    PersonPhone,
    PersonWeChat,
    StageVisit,
)
from hotline.selectors import visible_people, workable_people
from realtime.publish import publish

# What a merge copies onto the kept record when the kept one does not know it yet.
FILLED_ON_MERGE = ("name", "alias", "language", "birth_year", "address", "school", "home_region")


def _require_visible(actor, person: Person) -> None:
    if not visible_people(actor).filter(pk=person.pk).exists():
        raise Forbidden(_("You may not see this person's record."))
    if not workable_people(actor).filter(pk=person.pk).exists():  # a break-glass read only
        raise Forbidden(_("You may not change this person's record."))


def _case_of(person: Person) -> Case | None:
    """The case an event about the person is filed under: the open one, else the latest."""
    return person.cases.open().first() or person.cases.order_by("-opened_at", "-id").first()


def _flag_data(flag: PersonFlag) -> dict:
    return {
        "person": flag.person_id,
        "flag": flag.pk,
        "kind": flag.kind,
        "reason": flag.reason,
        "expires_at": flag.expires_at.isoformat() if flag.expires_at else None,
    }


def set_flag(actor, person: Person, *, kind: str, reason: str, expires_at=None) -> PersonFlag:
    """Flag a caller ("frequent caller", "known high risk", ...): why, and until when (none:
    until cleared). The same kind set again replaces the live one."""
    _require_visible(actor, person)
    if kind not in FlagKind.values:
        raise Invalid(_("Unknown flag."), fields={"kind": [_("Unknown value.")]})
    if not (reason or "").strip():
        message = _("Say why the flag is set.")
        raise Invalid(message, fields={"reason": [message]})
    now = timezone.now()
    if expires_at is not None and expires_at <= now:
        message = _("The expiry must be in the future.")
        raise Invalid(message, fields={"expires_at": [message]})
    with transaction.atomic():
        person = Person.objects.select_for_update().get(pk=person.pk)
        person.flags.active(now).filter(kind=kind).update(
            cleared_at=now, cleared_by=actor, clear_reason=_("Replaced by a new flag.")
        )
        flag = PersonFlag.objects.create(
            person=person,
            kind=kind,
            reason=reason.strip(),
            set_by=actor,
            set_at=now,
            expires_at=expires_at,
        )
        publish("person.flagged", case=_case_of(person), actor=actor, data=_flag_data(flag))
    return flag


def clear_flag(actor, flag: PersonFlag, *, reason: str = "") -> PersonFlag:
    _require_visible(actor, flag.person)
    with transaction.atomic():
        flag = PersonFlag.objects.select_for_update().get(pk=flag.pk)
        if flag.cleared_at is not None:
            raise Conflict(_("The flag is already cleared."), code="flag_cleared")
        flag.cleared_at = timezone.now()
        flag.cleared_by = actor
        flag.clear_reason = (reason or "").strip()
        flag.save()
        publish(
            "person.flag_cleared",
            case=_case_of(flag.person),
            actor=actor,
            data={**_flag_data(flag), "clear_reason": flag.clear_reason},
        )
    return flag


def may_merge(actor) -> bool:
    return is_administrator(actor) or has_role(actor, Role.COORDINATOR)


def merge_people(actor, keep: Person, other: Person, *, reason: str) -> Person:
    """Two records found to be one person: ``other`` is folded into ``keep``. Every case, call,
    number, WeChat openid, guardian and flag follows; ``other`` stays, empty, pointing at
    ``keep``.

    一人一例: if both have an open case, ``keep``'s stays open and ``other``'s is closed with the
    reason (refused while it still has open work: finish or move that first)."""
    if not may_merge(actor):
        raise Forbidden(_("Only a coordinator may merge two people."))
    if not (reason or "").strip():
        message = _("Say why these are the same person.")
        raise Invalid(message, fields={"reason": [message]})
    if keep.pk == other.pk:
        message = _("Choose two different people.")
        raise Invalid(message, fields={"other": [message]})
    _require_visible(actor, keep)
    _require_visible(actor, other)
    reason = reason.strip()
    now = timezone.now()
    with transaction.atomic():
        # Both rows locked, in id order, so two merges of the same pair cannot interleave.
        locked = {
            p.pk: p
            for p in Person.objects.select_for_update()
            .filter(pk__in=[keep.pk, other.pk])
            .order_by("pk")
        }
        keep, other = locked[keep.pk], locked[other.pk]
        if keep.merged_into_id or other.merged_into_id:
            raise Conflict(_("One of these records was already merged."), code="already_merged")
        kept_case = keep.cases.open().first()
        other_case = other.cases.open().first()
        if kept_case and other_case:
            blockers = reasons_case_cannot_close(other_case)
            if blockers:
                raise Conflict(
                    _("Case #%(case)s still has open work: %(why)s")
                    % {"case": other_case.pk, "why": "; ".join(blockers)},
                    code="case_has_open_work",
                )
            _close_merged_case(actor, other_case, kept_case, reason, now)
            # Calls still waiting or in hand go on in the case that stays open.
            Call.objects.filter(case=other_case).filter(
                status__in=[*WAITING_STATUSES, CallStatus.IN_PROGRESS, CallStatus.WRAP_UP]
            ).update(case=kept_case)
        for field in FILLED_ON_MERGE:
            if not getattr(keep, field) and getattr(other, field):
                setattr(keep, field, getattr(other, field))
        if keep.gender == Person.Gender.UNKNOWN:
            keep.gender = other.gender
        keep.is_anonymous = keep.is_anonymous and other.is_anonymous
        number = other.phone
        other.phone = ""
        other.merged_into = keep
        other.notes = (
            other.notes
            + "\n"
            + _("Merged into #%(id)s: %(reason)s") % {"id": keep.pk, "reason": reason}
        ).strip()
        other.save()
        if number:
            if keep.phone:
                PersonPhone.objects.create(person=keep, number=number, label=_("merged"))
            else:
                keep.phone = number
        keep.save()
        PersonPhone.objects.filter(person=other).update(person=keep)
        PersonWeChat.objects.filter(person=other).update(person=keep)
        GuardianContact.objects.filter(person=other).update(person=keep)
        PersonFlag.objects.filter(person=other).update(person=keep)
        moved_cases = list(other.cases.values_list("pk", flat=True))
        Case.objects.filter(pk__in=moved_cases).update(person=keep, district=keep.district())
        moved_calls = Call.objects.filter(person=other).update(person=keep)
        publish(
            "person.merged",
            case=_case_of(keep),
            actor=actor,
            data={
                "person": keep.pk,
                "merged": other.pk,
                "reason": reason,
                "cases": moved_cases,
                "calls": moved_calls,
            },
        )
    return keep


def _close_merged_case(actor, case: Case, kept: Case, reason: str, now) -> None:
    case = Case.objects.select_for_update().get(pk=case.pk)
    old = case.stage
    case.close()
    case.closed_at = now
    case.close_reason = _("Merged into case #%(case)s: %(reason)s") % {
        "case": kept.pk,
        "reason": reason,
    }
    StageVisit.objects.filter(case=case, left_at__isnull=True).update(left_at=now)
    case.stage_entered_at = now
    case.save()
    publish("case.closed", case=case, actor=actor, data={"from": old, "reason": case.close_reason})
