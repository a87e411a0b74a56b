"""The caller's line while the database is down (数据库故障时来电不丢).

The incoming-call webhook cannot write the call, so it writes a spool record instead: one JSON
file per call under ``HOTLINE_SPOOL_DIR``, written to a temporary name and renamed, so a reader
never sees half a record. ``replay_spool`` (run by the escalation worker's poll, which raises an
alert about what it recorded) puts each record through the ordinary intake once the database
answers, and deletes the file only after its call is committed: a crash between the two replays
it again, and the CallSid makes that a no-op.
"""

import json
import logging
import os
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError
from django.utils import timezone

from core.errors import DomainError
from hotline.services import record_outage_call

log = logging.getLogger(__name__)


@dataclass
class Replayed:
    call_id: int
    call_sid: str
    created: bool
    duty_phone: str
    received_at: str


def spool_dir() -> Path:
    return Path(settings.HOTLINE_SPOOL_DIR)


def spool_call(*, call_sid: str, from_raw: str, to_raw: str, duty_phone: str, error: str) -> Path:
    """Keep what Twilio told us about a call the database could not take."""
    directory = spool_dir()
    directory.mkdir(parents=True, exist_ok=True)
    record = {
        "call_sid": call_sid,
        "from": from_raw,
        "to": to_raw,
        "received_at": timezone.now().isoformat(),
        "duty_phone": duty_phone,
        "error": error[:500],
    }
    # Time first, so the records replay in the order the calls came in.
    final = directory / f"{time.time_ns():020d}-{uuid.uuid4().hex}.json"
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(record, f, ensure_ascii=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, final)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return final


def spooled() -> list[Path]:
    directory = spool_dir()
    if not directory.is_dir():
        return []
    return sorted(directory.glob("*.json"))


def replay_spool() -> list[Replayed]:
    """Record every spooled call through the intake; stops at the first failure (the database
    is still down), leaving that record and the later ones for the next run."""
    done = []
    for path in spooled():
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            log.exception("unreadable call spool record %s; set aside as .bad", path)
            path.rename(path.with_suffix(".bad"))
            continue
        try:
            call, created = record_outage_call(
                call_sid=record["call_sid"],
                from_raw=record.get("from", ""),
                to_raw=record.get("to", ""),
                received_at=datetime.fromisoformat(record["received_at"]),
                duty_phone=record.get("duty_phone", ""),
            )
        except (OperationalError, InterfaceError):
            raise  # still down: this record and the later ones wait for the next run
        except (DatabaseError, DomainError, KeyError, ValueError):
            log.exception("call spool record %s cannot be recorded; set aside as .bad", path)
            path.rename(path.with_suffix(".bad"))
            continue
        path.unlink(missing_ok=True)
        done.append(
            Replayed(
                call.pk, call.call_sid, created, record.get("duty_phone", ""), record["received_at"]
            )
        )
    return done
