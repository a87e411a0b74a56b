"""The hand-off deadline (acknowledge by) of a referral, by urgency."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings

from hotline.models import Risk

LOCAL = ZoneInfo("Asia/Shanghai")


def add_working_days(start: datetime, days: int) -> datetime:
    """``days`` working days (Mon-Fri, Asia/Shanghai) after ``start``, at the same local time.

    Sent at a weekend, the count starts on Monday 00:00 local: a referral sent on Saturday with
    two working days is due at Wednesday 00:00.
    Public holidays are not modelled (the national calendar changes yearly by decree).
    """
    local = start.astimezone(LOCAL)
    while local.weekday() >= 5:
        local = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=LOCAL)
    remaining = days
    while remaining > 0:
        local = local + timedelta(days=1)
        if local.weekday() < 5:
            remaining -= 1
    return local.astimezone(start.tzinfo)


def acknowledgement_deadline(urgency: str, sent_at: datetime) -> datetime:
    if urgency in (Risk.IMMINENT, Risk.HIGH):
        return sent_at + timedelta(minutes=settings.REFERRAL_ACK_MINUTES_URGENT)
    if urgency == Risk.MODERATE:
        return sent_at + timedelta(minutes=settings.REFERRAL_ACK_MINUTES_MODERATE)
    return add_working_days(sent_at, settings.REFERRAL_ACK_WORKING_DAYS_LOW)
