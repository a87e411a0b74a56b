"""话务高峰: a surge of the hotline queue (longer than ``HOTLINE_SURGE_QUEUE_LENGTH``), announced
once to the centre's coordinators and ended when the queue is short again."""

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from directory.models import Organisation, OrganisationKind
from hotline.models import WAITING_STATUSES, Call, QueueSurge
from hotline.selectors import at_centres
from hotline.services.cases import SYSTEM
from realtime import audiences as aud
from realtime.publish import publish


def _queue_length(hotline_id: int) -> int:
    # The centre's own queue: less the calls overflowed to a partner, plus those taken for one.
    return Call.objects.filter(at_centres([hotline_id]), status__in=WAITING_STATUSES).count()


def _check_surge(hotline: Organisation, actor) -> None:
    """话务高峰 detection: the queue is counted on every call (a count on an index; calls come
    well under one a second). The worker's housekeeping counts too (``check_surges``)."""
    length = _queue_length(hotline.pk)
    if length <= settings.HOTLINE_SURGE_QUEUE_LENGTH:
        return
    open_surge = QueueSurge.objects.filter(hotline=hotline, ended_at__isnull=True).first()
    if open_surge is not None:
        if length > open_surge.peak_length:
            QueueSurge.objects.filter(pk=open_surge.pk).update(peak_length=length)
        return
    try:
        with transaction.atomic():
            surge = QueueSurge.objects.create(hotline=hotline, peak_length=length)
    except IntegrityError:
        return  # another call started this surge a moment ago
    _on_surge(hotline, surge, length)


def check_surges() -> None:
    """Housekeeping: count every hotline's queue once."""
    for hotline in Organisation.objects.filter(
        kind=OrganisationKind.HOTLINE_CENTRE, is_active=True
    ):
        _check_surge(hotline, SYSTEM)


def _on_surge(hotline: Organisation, surge: QueueSurge, length: int) -> None:
    """话务高峰: announced once per surge to the centre's coordinators. The hook the escalation
    app's alerts attach to (replace or extend this one function)."""
    publish(
        "queue.surge",
        data={
            "hotline": hotline.pk,
            "surge": surge.pk,
            "queue_length": length,
            "threshold": settings.HOTLINE_SURGE_QUEUE_LENGTH,
            "started_at": surge.started_at.isoformat(),
        },
        audiences=aud.hotline_staff(hotline.pk),
    )


def _end_surge_if_over(hotline_id: int, actor) -> None:
    if _queue_length(hotline_id) > settings.HOTLINE_SURGE_QUEUE_LENGTH:
        return
    now = timezone.now()
    for surge in QueueSurge.objects.filter(hotline_id=hotline_id, ended_at__isnull=True):
        surge.ended_at = now
        surge.save(update_fields=["ended_at"])
        publish(
            "queue.surge_ended",
            actor=actor,
            data={"hotline": hotline_id, "surge": surge.pk, "peak_length": surge.peak_length},
            audiences=aud.hotline_staff(hotline_id),
        )
