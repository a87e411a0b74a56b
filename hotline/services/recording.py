"""Call recording with consent (通话录音告知) and retention.

A line (``HotlineLine``) that records plays its announcement before the caller is queued, and
the call is marked ``recording_announced``; only such a call's conference is recorded. When
Twilio reports a recording complete, it is copied into the "recordings" storage (Django's
storage API), then deleted at Twilio, so the only copy is one the project controls. Files are
removed after ``RECORDING_RETENTION_DAYS``; every listen is a read on the audit trail.
"""

import logging
import re
from datetime import datetime, timedelta

import requests
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from twilio.base.exceptions import TwilioException

from core.errors import Invalid, NotFound
from core.telephony import download_media, twilio_client
from hotline.models import Call, CallRecording, HotlineLine
from hotline.selectors import playable_recordings
from hotline.services.calls import normalise_number
from hotline.services.reads import record_read

log = logging.getLogger(__name__)

RECORDING_SID = re.compile(r"^RE[0-9a-fA-F]{32}$")
CONTENT_TYPES = {"mp3": "audio/mpeg", "wav": "audio/wav"}
# A recording Twilio reported but not yet copied is tried again by the sweep after this long.
RETRY_AFTER = timedelta(minutes=2)


def storage():
    return storages["recordings"]


def line_for(to_raw: str) -> HotlineLine | None:
    number = normalise_number(to_raw)
    if number is None:
        return None
    return HotlineLine.objects.filter(number=number).first()


def announce_recording(call: Call, to_raw: str) -> str:
    """The consent announcement for the line the call came in on ("" when it does not record),
    and the call marked as told. A repeated delivery answers the same and writes nothing new."""
    line = line_for(to_raw)
    if line is None or not line.record_calls:
        return ""
    if not call.recording_announced:
        Call.objects.filter(pk=call.pk).update(recording_announced=True)
        call.recording_announced = True
    return line.announcement


def media_url(recording_sid: str) -> str:
    return (
        f"https://api.twilio.com/2010-04-01/Accounts/{settings.TWILIO_ACCOUNT_SID}"
        f"/Recordings/{recording_sid}.{settings.RECORDING_FORMAT}"
    )


def recording_completed(call_pk: int, *, recording_sid: str, duration: int) -> CallRecording | None:
    """Twilio's recording status callback (录音完成): record it once per RecordingSid, then copy
    it here and delete it at Twilio. A recording of a call whose caller was not told is deleted
    at Twilio and not kept."""
    if not RECORDING_SID.match(recording_sid):
        raise Invalid(_("Not a recording SID."), fields={"RecordingSid": [_("Not valid.")]})
    call = Call.objects.filter(pk=call_pk).first()
    if call is None:
        raise NotFound(_("No such call."), code="unknown_call")
    if not call.recording_announced:
        log.warning("recording %s of call %s without an announcement: deleted", recording_sid, call)
        _delete_at_twilio(recording_sid)
        return None
    try:
        with transaction.atomic():
            recording, created = CallRecording.objects.get_or_create(
                recording_sid=recording_sid, defaults={"call": call, "duration": duration}
            )
    except IntegrityError:  # a concurrent delivery inserted it first
        recording, created = CallRecording.objects.get(recording_sid=recording_sid), False
    if created or recording.fetched_at is None or recording.twilio_deleted_at is None:
        # Outside any transaction (the webhook runs in autocommit): the download may be long.
        copy_recording(recording.pk)
    return recording


def copy_recording(recording_pk: int) -> bool:
    """Copy one recording into storage and delete it at Twilio; False when Twilio could not be
    reached (the sweep tries again). Never holds a row lock over the network: the copy is
    claimed by a conditional update, and a copy that lost the race is removed."""
    recording = CallRecording.objects.filter(pk=recording_pk, deleted_at__isnull=True).first()
    if recording is None:
        return True
    try:
        if recording.fetched_at is None:
            data, _type = download_media(media_url(recording.recording_sid))
            fmt = settings.RECORDING_FORMAT
            name = storage().save(
                f"calls/{recording.call_id}/{recording.recording_sid}.{fmt}", ContentFile(data)
            )
            claimed = CallRecording.objects.filter(pk=recording.pk, fetched_at__isnull=True).update(
                storage_name=name,
                content_type=CONTENT_TYPES.get(fmt, "application/octet-stream"),
                fetched_at=timezone.now(),
            )
            if not claimed:
                storage().delete(name)
        if recording.twilio_deleted_at is None:
            _delete_at_twilio(recording.recording_sid)
            CallRecording.objects.filter(pk=recording.pk).update(twilio_deleted_at=timezone.now())
    except (TwilioException, requests.RequestException, OSError) as exc:
        log.warning("recording %s not copied yet: %s", recording.recording_sid, exc)
        return False
    return True


def _delete_at_twilio(recording_sid: str) -> None:
    twilio_client().recordings(recording_sid).delete()


def open_recording(user, recording_pk: int) -> tuple[CallRecording, object]:
    """A listen (收听录音): the recording and its open file, for a reader of the case; the
    listen goes on the case's read log."""
    recording = playable_recordings(user).select_related("call").filter(pk=recording_pk).first()
    if recording is None:
        raise NotFound(_("No recording you may listen to."), code="no_recording")
    try:
        handle = storage().open(recording.storage_name, "rb")
    except FileNotFoundError as exc:
        raise NotFound(_("The recording's file is missing."), code="recording_missing") from exc
    record_read(
        user,
        what="recording_played",
        case_ids=[recording.call.case_id],
        details={"recording": recording.pk, "call": recording.call_id},
    )
    return recording, handle


def remove_expired_recordings(now: datetime, *, batch: int | None = None) -> int:
    """Retention (录音保存期限): remove one batch of files older than RECORDING_RETENTION_DAYS
    (and any copy still at Twilio), marking the rows; returns how many (0 when none are left)."""
    cutoff = now - timedelta(days=settings.RECORDING_RETENTION_DAYS)
    expired = CallRecording.objects.filter(created_at__lt=cutoff, deleted_at__isnull=True)
    removed = 0
    for recording in expired.order_by("pk")[: batch or settings.RETENTION_BATCH]:
        marks = {"deleted_at": now}
        if recording.twilio_deleted_at is None:
            try:
                _delete_at_twilio(recording.recording_sid)
            except TwilioException as exc:
                log.warning("expired recording %s still at Twilio: %s", recording, exc)
                continue
            marks["twilio_deleted_at"] = now
        if recording.storage_name:
            storage().delete(recording.storage_name)
        removed += CallRecording.objects.filter(pk=recording.pk, deleted_at__isnull=True).update(
            **marks
        )
    return removed


def copy_pending_recordings(now: datetime) -> int:
    """Copy (and delete at Twilio) recordings an earlier attempt could not; returns how many."""
    pending = CallRecording.objects.filter(
        deleted_at__isnull=True, created_at__lt=now - RETRY_AFTER
    )
    pending = pending.filter(fetched_at__isnull=True) | pending.filter(
        twilio_deleted_at__isnull=True
    )
    return sum(copy_recording(pk) for pk in pending.values_list("pk", flat=True)[:50])


def sweep_recordings(now: datetime) -> None:
    """The worker's retention run for recordings: one batch of removals, then retries."""
    remove_expired_recordings(now)
    copy_pending_recordings(now)
