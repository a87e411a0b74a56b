"""Retention (个人信息保存期限, PIPL art. 19): once every case of a person has been closed for
longer than ``CASE_RETENTION_DAYS``, the person is anonymised: name, alias, numbers, WeChat
openids, address, school, notes, guardians, flag reasons, the numbers and notes of their calls,
triage and drafts, the transcripts of their text conversations (deleted: nothing in a message is
kept apart from the person), the safety plan's words and texts, and what other apps register
(session notes). Kept: the person row and its links, gender, birth year and home region, and
every case's stage, risk, district and dates, so the dashboard's counts do not change.

Batch-wise and idempotent: a person is marked ``anonymised_at`` in the same transaction, and a
marked person is never picked again. Every anonymisation is one audit event.
"""

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef

from hotline.models import (
    Call,
    Case,
    ContactMessage,
    GuardianContact,
    Person,
    PersonFlag,
    PersonPhone,
    PersonWeChat,
    SafetyPlanMessage,
    SafetyPlanVersion,
    Stage,
    Triage,
    TriageDraft,
)
from hotline.services.recording import sweep_recordings
from realtime.audit import record_audit

ANONYMISED = "person.anonymised"

# Other apps' personal data about a person, scrubbed in the same transaction: fn(person_ids).
_anonymisers: list[Callable] = []


def register_anonymiser(fn: Callable) -> Callable:
    if fn not in _anonymisers:
        _anonymisers.append(fn)
    return fn


def expired_people(now: datetime):
    """People not yet anonymised whose cases are all closed before the retention cutoff."""
    cutoff = now - timedelta(days=settings.CASE_RETENTION_DAYS)
    cases = Case.objects.filter(person=OuterRef("pk"))
    kept = cases.exclude(stage=Stage.CLOSED, closed_at__lt=cutoff)
    return (
        Person.objects.filter(anonymised_at__isnull=True)
        .filter(Exists(cases))
        .exclude(Exists(kept))
        .order_by("pk")
    )


def anonymise_expired(now: datetime, *, batch: int | None = None) -> int:
    """Anonymise one batch of expired people; returns how many (0 when none are left)."""
    batch = batch or settings.RETENTION_BATCH
    ids = list(expired_people(now).values_list("pk", flat=True)[:batch])
    for person_id in ids:
        _anonymise(person_id, now)
    return len(ids)


def _anonymise(person_id: int, now: datetime) -> None:
    with transaction.atomic():
        # The lock and the re-check stop a case opened (or reopened) meanwhile from losing its
        # person's name, and two workers from anonymising the same person twice.
        person = Person.objects.select_for_update().filter(pk=person_id).first()
        if person is None or not expired_people(now).filter(pk=person_id).exists():
            return
        Person.objects.filter(pk=person_id).update(
            name="",
            alias="",
            phone="",
            address="",
            school="",
            notes="",
            is_anonymous=True,
            anonymised_at=now,
        )
        GuardianContact.objects.filter(person_id=person_id).delete()
        PersonPhone.objects.filter(person_id=person_id).delete()
        PersonWeChat.objects.filter(person_id=person_id).delete()
        PersonFlag.objects.filter(person_id=person_id).update(reason="", clear_reason="")
        ContactMessage.objects.filter(call__person_id=person_id).delete()
        calls = Call.objects.filter(person_id=person_id)
        TriageDraft.objects.filter(call__in=calls).delete()
        calls.update(from_number="", from_raw="", caller_name="", notes="")
        Triage.objects.filter(case__person_id=person_id).update(notes="", contact_phone="")
        # The safety plan's words and the texts that carried them; the versions' count stays.
        SafetyPlanMessage.objects.filter(version__case__person_id=person_id).update(to="", body="")
        SafetyPlanVersion.objects.filter(case__person_id=person_id).update(sections="{}")
        for fn in _anonymisers:
            fn([person_id])
        case_ids = list(Case.objects.filter(person_id=person_id).values_list("pk", flat=True))
        record_audit(
            ANONYMISED,
            actor=None,
            data={
                "person": person_id,
                "reason": "retention",
                "retention_days": settings.CASE_RETENTION_DAYS,
            },
            case_ids=case_ids,
        )


_last_run: dict[str, float] = {}


def worker_hook(now: datetime) -> None:
    """Run by the escalation worker at its sources' cadence; one batch per RETENTION_EVERY."""
    clock = time.monotonic()
    if clock < _last_run.get("at", float("-inf")) + settings.RETENTION_EVERY_SECONDS:
        return
    _last_run["at"] = clock
    anonymise_expired(now)
    # Call recordings have their own, shorter period (RECORDING_RETENTION_DAYS).
    sweep_recordings(now)
