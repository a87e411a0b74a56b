"""Alert sources: functions the worker polls, each ``source(now) -> iterable of AlertSpec``.

Other apps plug theirs in with one line (e.g. in their AppConfig.ready())::

    from escalation.sources import register_alert_source
    register_alert_source("referral_overdue", referrals.alerts.overdue_referrals)

Each spec carries a ``dedup_key`` ("referral:12:ack"); the ``Alert.dedup_key`` unique constraint
makes a source yielding the same thing on every poll raise it once. Code that knows the moment
something goes wrong can call ``escalation.services.raise_alert(AlertSpec(...))`` directly.
"""

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from django.utils.translation import gettext as _

from escalation.models import DispatchLeg, LegState, Severity

log = logging.getLogger(__name__)

_sources: dict[str, Callable[[datetime], Iterable]] = {}


def register_alert_source(name: str, fn: Callable[[datetime], Iterable]) -> None:
    _sources[name] = fn


def alert_sources() -> dict[str, Callable[[datetime], Iterable]]:
    return dict(_sources)


def poll_sources(now: datetime) -> int:
    """Raise every alert the sources report; a failing source is logged, the others still run."""
    from escalation.services import raise_alert

    raised = 0
    for name, source in alert_sources().items():
        try:
            for spec in source(now):
                _alert, created = raise_alert(spec)
                raised += created
        except Exception:
            log.exception("alert source %s failed", name)
    return raised


def overdue_dispatch_legs(now: datetime):
    """Legs still unacknowledged after their deadline (the leg timer raises these at once;
    this sweep is the safety net)."""
    from escalation.services import leg_alert_spec

    legs = DispatchLeg.objects.filter(state=LegState.NOTIFIED, ack_deadline__lte=now)
    for leg in legs.select_related("dispatch__case", "organisation"):
        yield leg_alert_spec(leg)


def break_glass_reads(now: datetime):
    """Every emergency break-glass read is reviewed by the hotline centre's coordinators."""
    from escalation.services import AlertSpec
    from hotline.models import CaseAccess

    grants = CaseAccess.objects.filter(
        reason=CaseAccess.Reason.BREAK_GLASS, granted_at__gte=now - timedelta(days=1)
    ).select_related("organisation", "granted_by", "case")
    for grant in grants:
        yield AlertSpec(
            dedup_key=f"break_glass:{grant.pk}",
            kind="break_glass",
            title=_("Break-glass read of case #%(case)s by %(org)s")
            % {"case": grant.case_id, "org": grant.organisation},
            severity=Severity.CRITICAL,
            case=grant.case,
            data={
                "grant": grant.pk,
                "organisation": grant.organisation_id,
                "by": grant.granted_by_id,
                "note": grant.note,
            },
        )


register_alert_source("dispatch_legs", overdue_dispatch_legs)
register_alert_source("break_glass", break_glass_reads)
