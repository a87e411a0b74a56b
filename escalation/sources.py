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

from django.conf import settings
from django.db.models.functions import Coalesce
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext as _

from clinics.models import FollowUp, FollowUpState, PlanMeasure
from clinics.selectors import overdue_check_ins as clinic_overdue_check_ins
from clinics.selectors import overdue_follow_ups as clinic_overdue_follow_ups
from clinics.services import expire_break_glass
from directory.models import Organisation, OrganisationKind, Role
from escalation.models import Alert, AlertState, DispatchLeg, LegState, Severity
from escalation.services import AlertSpec, clear_alert, leg_alert_spec, raise_alert
from hotline import caseplan
from hotline.models import (
    WAITING_STATUSES,
    Call,
    CallbackTask,
    CallStatus,
    Case,
    CaseAccess,
    OperatorPresence,
    PresenceStatus,
    QueueSurge,
    risk_at_least,
)
from hotline.outage import replay_spool
from hotline.selectors import waiting_calls
from hotline.services import (
    available_operator_ids,
    check_surges,
    end_lapsed_grants,
    expire_offers,
    offer_waiting_calls,
    sign_off_absent_operators,
    sweep_callbacks,
    sweep_conversations,
    sweep_overflow,
)
from hotline.signals import offers_missed
from referrals.models import Referral, ReferralState
from referrals.selectors import overdue_referrals as referral_overdue_referrals

log = logging.getLogger(__name__)

_sources: dict[str, Callable[[datetime], Iterable]] = {}
# kind -> cleared(alert) -> bool: the condition behind the alert is gone (e.g. the referral was
# acknowledged), so the alert resolves itself instead of escalating about something already done.
_clearers: dict[str, Callable] = {}


def register_alert_source(
    name: str,
    fn: Callable[[datetime], Iterable],
    *,
    kind: str = "",
    cleared: Callable | None = None,
) -> None:
    _sources[name] = fn
    if kind and cleared:
        _clearers[kind] = cleared


_periodic: dict[str, Callable[[datetime], None]] = {}


def register_periodic_job(name: str, fn: Callable[[datetime], None]) -> None:
    """Work the worker runs at the sources' cadence that raises no alert (e.g. the rollup)."""
    _periodic[name] = fn


def alert_sources() -> dict[str, Callable[[datetime], Iterable]]:
    return dict(_sources)


def poll_sources(now: datetime) -> int:
    """Raise every alert the sources report; a failing source is logged, the others still run."""
    raised = 0
    for name, source in alert_sources().items():
        try:
            for spec in source(now):
                _alert, created = raise_alert(spec)
                raised += created
        except Exception:
            log.exception("alert source %s failed", name)
    clear_resolved_conditions()
    for name, job in list(_periodic.items()):
        try:
            job(now)
        except Exception:
            log.exception("periodic job %s failed", name)
    return raised


def clear_resolved_conditions() -> int:
    """Resolve open alerts whose condition has cleared (by the system, with a note)."""
    cleared = 0
    open_alerts = Alert.objects.filter(
        kind__in=list(_clearers), state__in=[AlertState.OPEN, AlertState.ACKNOWLEDGED]
    )
    for alert in open_alerts:
        try:
            if _clearers[alert.kind](alert):
                cleared += clear_alert(alert)
        except Exception:
            log.exception("clearing alert %s failed", alert.pk)
    return cleared


def overdue_dispatch_legs(now: datetime):
    """Legs still unacknowledged after their deadline (the leg timer raises these at once;
    this sweep is the safety net)."""
    legs = DispatchLeg.objects.filter(state=LegState.NOTIFIED, ack_deadline__lte=now)
    for leg in legs.select_related("dispatch__case", "organisation"):
        yield leg_alert_spec(leg)


def break_glass_reads(now: datetime):
    """Every emergency break-glass read is reviewed by the coordinators of the organisation
    that owns the case: who read it, for which organisation, and why."""
    grants = CaseAccess.objects.filter(
        reason=CaseAccess.Reason.BREAK_GLASS, granted_at__gte=now - timedelta(days=1)
    ).select_related("organisation", "granted_by", "user", "case__owning_organisation")
    for grant in grants:
        who = grant.user or grant.granted_by
        yield AlertSpec(
            dedup_key=f"break_glass:{grant.pk}",
            kind="break_glass",
            title=_("Break-glass read of case #%(case)s by %(who)s (%(org)s): %(why)s")
            % {
                "case": grant.case_id,
                "who": who.get_username() if who else "-",
                "org": grant.organisation,
                "why": grant.note,
            },
            severity=Severity.CRITICAL,
            target_organisation=grant.case.owning_organisation,
            target_role=Role.COORDINATOR,
            case=grant.case,
            data={
                "grant": grant.pk,
                "organisation": grant.organisation_id,
                "by": who.pk if who else None,
                "note": grant.note,
            },
        )


register_alert_source("dispatch_legs", overdue_dispatch_legs)
register_alert_source("break_glass", break_glass_reads)


# --- the other apps' deadlines (referrals, follow-ups, assistance plans, the hotline queue) ---

RECEIVER_ROLE = {
    "counselling_centre": Role.COUNSELLOR,
    "hospital": Role.HOSPITAL_STAFF,
    "consortium_hospital": Role.HOSPITAL_STAFF,
}
SOURCE_BATCH = 500  # per poll; the rest are picked up on the next poll


def overdue_referrals(now: datetime):
    """转介未按时确认: a referral not acknowledged by its deadline alerts the receiver's staff."""
    for referral in referral_overdue_referrals(now)[:SOURCE_BATCH]:
        yield AlertSpec(
            dedup_key=f"referral:{referral.pk}:ack",
            kind="referral_overdue",
            title=_("Referral #%(id)s to %(org)s not acknowledged by its deadline")
            % {"id": referral.pk, "org": referral.receiver},
            severity=Severity.CRITICAL
            if risk_at_least(referral.urgency, "high")
            else Severity.WARNING,
            target_organisation=referral.receiver,
            target_role=RECEIVER_ROLE.get(referral.receiver.kind, Role.COORDINATOR),
            case=referral.case,
            data={
                "referral": referral.pk,
                "urgency": referral.urgency,
                "ack_due_at": referral.ack_due_at.isoformat(),
                "receiver": referral.receiver_id,
            },
        )


def _referral_acknowledged(alert) -> bool:
    return not Referral.objects.filter(
        pk=alert.data.get("referral"), state=ReferralState.SENT
    ).exists()


def overdue_follow_ups(now: datetime):
    """回访逾期: a follow-up past its due time alerts its organisation (or its assignee)."""
    for follow_up in clinic_overdue_follow_ups(now)[:SOURCE_BATCH]:
        role = RECEIVER_ROLE.get(follow_up.organisation.kind, Role.COORDINATOR)
        yield AlertSpec(
            dedup_key=f"follow_up:{follow_up.pk}:due",
            kind="follow_up_overdue",
            title=_("Follow-up of case #%(case)s is overdue") % {"case": follow_up.case_id},
            severity=Severity.WARNING,
            target_user=follow_up.assignee,
            target_organisation=None if follow_up.assignee_id else follow_up.organisation,
            target_role="" if follow_up.assignee_id else role,
            case=follow_up.case,
            data={"follow_up": follow_up.pk, "due_at": follow_up.due_at.isoformat()},
        )


def _follow_up_no_longer_due(alert) -> bool:
    return not FollowUp.objects.filter(
        pk=alert.data.get("follow_up"), state=FollowUpState.SCHEDULED
    ).exists()


def lost_follow_ups(now: datetime):
    """失访: three failed attempts; the hotline centre's coordinators must decide what next."""
    lost = FollowUp.objects.filter(
        state=FollowUpState.LOST, done_at__gte=now - timedelta(days=7)
    ).select_related("case")
    for follow_up in lost[:SOURCE_BATCH]:
        yield AlertSpec(
            dedup_key=f"follow_up:{follow_up.pk}:lost",
            kind="follow_up_lost",
            title=_("Case #%(case)s is lost to follow-up") % {"case": follow_up.case_id},
            severity=Severity.CRITICAL,
            case=follow_up.case,
            data={"follow_up": follow_up.pk},
        )


def overdue_check_ins(now: datetime):
    """帮扶措施逾期: an assistance-plan measure whose check-in date has passed alerts its owner."""
    for measure in clinic_overdue_check_ins(now)[:SOURCE_BATCH]:
        yield AlertSpec(
            dedup_key=f"measure:{measure.pk}:{measure.next_check_in:%Y%m%d}",
            kind="check_in_overdue",
            title=_("Assistance-plan check-in overdue (case #%(case)s)")
            % {"case": measure.plan.case_id},
            severity=Severity.WARNING,
            target_user=measure.owner,
            case=measure.plan.case,
            data={"measure": measure.pk, "plan": measure.plan_id},
        )


def _check_in_done(alert) -> bool:
    measure = PlanMeasure.objects.filter(pk=alert.data.get("measure")).first()
    return measure is None or measure.done or measure.next_check_in > timezone.now()


def queue_surges(now: datetime):
    """排队过长: a surge of the hotline queue alerts the centre's coordinators, once per surge."""
    for surge in QueueSurge.objects.filter(ended_at__isnull=True).select_related("hotline"):
        yield AlertSpec(
            dedup_key=f"surge:{surge.pk}",
            kind="queue_surge",
            title=_("The hotline queue is long (%(n)s waiting)") % {"n": surge.peak_length},
            severity=Severity.CRITICAL,
            target_organisation=surge.hotline,
            target_role=Role.COORDINATOR,
            data={"surge": surge.pk, "peak_length": surge.peak_length},
        )


def _surge_over(alert) -> bool:
    return not QueueSurge.objects.filter(pk=alert.data.get("surge"), ended_at__isnull=True).exists()


register_alert_source(
    "referral_overdue", overdue_referrals, kind="referral_overdue", cleared=_referral_acknowledged
)
register_alert_source(
    "follow_up_overdue",
    overdue_follow_ups,
    kind="follow_up_overdue",
    cleared=_follow_up_no_longer_due,
)
register_alert_source("follow_up_lost", lost_follow_ups)
register_alert_source(
    "check_in_overdue", overdue_check_ins, kind="check_in_overdue", cleared=_check_in_done
)
register_alert_source("queue_surge", queue_surges, kind="queue_surge", cleared=_surge_over)


def idle_cases(now: datetime):
    """无人决定: an open case with nothing open and no decision ("decide: close or plan") past its
    due time alerts its owner: the owner a coordinator named, else the coordinator on duty,
    else the owning organisation's coordinators."""
    idle = Case.objects.open().filter(next_step_kind=caseplan.DECIDE, next_step_due__lte=now)
    for case in idle.select_related("owning_organisation").order_by("next_step_due")[:SOURCE_BATCH]:
        owner = case.owner or caseplan.on_duty_coordinator(case.owning_organisation_id, now)
        yield AlertSpec(
            dedup_key=f"case:{case.pk}:idle:{case.next_step_due:%Y%m%d%H%M}",
            kind="case_idle",
            title=_("Case #%(case)s: nothing open and nothing decided - close it or plan")
            % {"case": case.pk},
            severity=Severity.WARNING,
            target_user=owner,
            target_organisation=None if owner else case.owning_organisation,
            target_role="" if owner else Role.COORDINATOR,
            case=case,
            data={"case": case.pk, "due_at": case.next_step_due.isoformat()},
        )


def _case_decided(alert) -> bool:
    case = Case.objects.filter(pk=alert.data.get("case")).first()
    return (
        case is None
        or not case.is_open
        or case.next_step_kind != caseplan.DECIDE
        or case.next_step_due.isoformat() != alert.data.get("due_at")
    )


register_alert_source("case_idle", idle_cases, kind="case_idle", cleared=_case_decided)


# A call-back nobody has dialled this long after it fell due (it waits in the queue meanwhile).
CALLBACK_OVERDUE_MINUTES = 30


def overdue_callbacks(now: datetime):
    """回拨超时: an open call-back still not dialled ``CALLBACK_OVERDUE_MINUTES`` after it fell due
    alerts the hotline centre's coordinator on duty, else its coordinators (the caller hung up
    and nobody has called them back)."""
    late = CallbackTask.objects.filter(
        status=CallbackTask.Status.OPEN,
        due_at__lte=now - timedelta(minutes=CALLBACK_OVERDUE_MINUTES),
    ).exclude(queue_call__status=CallStatus.IN_PROGRESS)
    for task in late.select_related("abandoned_call__hotline").order_by("due_at")[:SOURCE_BATCH]:
        hotline = task.abandoned_call.hotline
        owner = caseplan.on_duty_coordinator(hotline.pk, now)
        yield AlertSpec(
            dedup_key=f"callback:{task.pk}:overdue:{task.due_at:%Y%m%d%H%M}",
            kind="callback_overdue",
            title=_(
                "Call-back of call %(call)s is overdue: the caller hung up and nobody has "
                "called them back"
            )
            % {"call": task.abandoned_call_id},
            severity=Severity.WARNING,
            target_user=owner,
            target_organisation=None if owner else hotline,
            target_role="" if owner else Role.COORDINATOR,
            case=task.case,
            data={
                "callback": task.pk,
                "call": task.abandoned_call_id,
                "due_at": task.due_at.isoformat(),
            },
        )


def _callback_made(alert) -> bool:
    task = CallbackTask.objects.filter(pk=alert.data.get("callback")).first()
    return (
        task is None
        or task.status != CallbackTask.Status.OPEN
        or task.due_at.isoformat() != alert.data.get("due_at")
    )


register_alert_source(
    "callback_overdue", overdue_callbacks, kind="callback_overdue", cleared=_callback_made
)


# --- presence follows the person: callers nobody is there to answer, offers let lapse ---------


def callers_waiting_unanswered(now: datetime):
    """来电无人接听: a caller waiting longer than ``HOTLINE_WAIT_ALERT_SECONDS`` while no operator
    is available (at a console) alerts the centre's coordinators, whatever the queue length.
    Once per episode: nothing new while the hotline has such an alert open; it resolves itself
    when the caller it was raised for is answered or hangs up."""
    threshold = now - timedelta(seconds=settings.HOTLINE_WAIT_ALERT_SECONDS)
    for hotline in Organisation.objects.filter(
        kind=OrganisationKind.HOTLINE_CENTRE, is_active=True
    ):
        oldest = (
            waiting_calls(hotline.pk).filter(queued_at__lte=threshold).order_by("queued_at").first()
        )
        if oldest is None or available_operator_ids(hotline.pk, now):
            continue
        if Alert.objects.filter(
            kind="caller_waiting",
            data__hotline=hotline.pk,
            state__in=[AlertState.OPEN, AlertState.ACKNOWLEDGED],
        ).exists():
            continue
        waiting = waiting_calls(hotline.pk).count()
        yield AlertSpec(
            dedup_key=f"caller_waiting:{oldest.pk}",
            kind="caller_waiting",
            title=_("A caller has waited %(s)s s with no operator available (%(n)s waiting)")
            % {"s": int((now - oldest.queued_at).total_seconds()), "n": waiting},
            severity=Severity.CRITICAL,
            target_organisation=hotline,
            target_role=Role.COORDINATOR,
            data={
                "hotline": hotline.pk,
                "call": oldest.pk,
                "queued_at": oldest.queued_at.isoformat(),
                "waiting": waiting,
            },
        )


def _caller_no_longer_waiting(alert) -> bool:
    return not Call.objects.filter(pk=alert.data.get("call"), status__in=WAITING_STATUSES).exists()


def missed_offers_spec(presence: OperatorPresence) -> AlertSpec:
    return AlertSpec(
        dedup_key=f"missed_offers:{presence.user_id}:{presence.since.isoformat()}",
        kind="operator_missed_offers",
        title=_("%(who)s let %(n)s offered calls lapse in a row and was put on a break")
        % {"who": presence.user, "n": presence.missed_offers},
        severity=Severity.WARNING,
        target_organisation=presence.hotline,
        target_role=Role.COORDINATOR,
        data={
            "hotline": presence.hotline_id,
            "operator": presence.user_id,
            "missed_offers": presence.missed_offers,
        },
    )


def operators_missing_offers(now: datetime):
    """连续未接: an operator put on a break for missed offers (raised at once by the receiver
    below; this poll is the safety net)."""
    presences = OperatorPresence.objects.filter(
        status=PresenceStatus.BREAK, missed_offers__gte=settings.HOTLINE_MISSED_OFFERS_BREAK
    ).select_related("user", "hotline")
    for presence in presences:
        yield missed_offers_spec(presence)


def _operator_back(alert) -> bool:
    # The operator answered a call or set their own status again.
    return not OperatorPresence.objects.filter(
        user_id=alert.data.get("operator"),
        missed_offers__gte=settings.HOTLINE_MISSED_OFFERS_BREAK,
    ).exists()


@receiver(offers_missed, dispatch_uid="escalation.alert_on_missed_offers")
def alert_on_missed_offers(sender, *, presence, call, actor=None, **kwargs) -> None:
    raise_alert(missed_offers_spec(presence))


register_alert_source(
    "caller_waiting",
    callers_waiting_unanswered,
    kind="caller_waiting",
    cleared=_caller_no_longer_waiting,
)
register_alert_source(
    "operator_missed_offers",
    operators_missing_offers,
    kind="operator_missed_offers",
    cleared=_operator_back,
)


def _watch_waiting_callers(now: datetime) -> None:
    """Every second rather than at the sources' cadence: a caller is on the line."""
    for spec in callers_waiting_unanswered(now):
        raise_alert(spec)
    for alert in Alert.objects.filter(
        kind="caller_waiting", state__in=[AlertState.OPEN, AlertState.ACKNOWLEDGED]
    ):
        if _caller_no_longer_waiting(alert):
            clear_alert(alert)


def housekeeping(now: datetime) -> None:
    """Small deadlines other apps keep in their own rows: operators whose consoles are gone go
    offline, lapsed call offers go back to the queue, queued calls are offered to whoever is
    free, callers waiting with nobody to answer alert a coordinator, expired break-glass grants
    are revoked, the hotline queues are counted for surges, due call-backs are queued and
    the empty cases of withheld abandoned calls closed, and text conversations silent for
    ``CHAT_INACTIVITY_MINUTES`` ended."""
    sign_off_absent_operators(now)
    # A call's queue is its answering centre's once overflowed, else its own centre's.
    centre = Coalesce("answering_centre_id", "hotline_id")
    lapsed = (
        Call.objects.filter(status=CallStatus.OFFERED, offer_expires_at__lte=now)
        .values_list(centre, flat=True)
        .distinct()
    )
    for hotline_id in list(lapsed):
        expire_offers(hotline_id)
    queued = Call.objects.filter(status=CallStatus.QUEUED).values_list(centre, flat=True)
    for hotline_id in list(queued.distinct()):
        offer_waiting_calls(hotline_id)
    sweep_overflow(now)
    _watch_waiting_callers(now)
    expire_break_glass(now)
    end_lapsed_grants(now)
    check_surges()
    sweep_callbacks(now)
    sweep_conversations(now)


# --- the caller's line under faults ------------------------------------------------------------


def calls_taken_during_outage(now: datetime):
    """数据库故障期间的来电: the calls the webhook spooled while the database was down are
    recorded through the intake as soon as it answers, and the hotline centre's coordinators
    are alerted once, to check on those callers (the duty phone's conversations are not in the
    case files yet)."""
    recorded = [r for r in replay_spool() if r.created]
    if not recorded:
        return
    duty_phones = sorted({r.duty_phone for r in recorded if r.duty_phone})
    yield AlertSpec(
        dedup_key=f"outage_calls:{recorded[0].call_sid}",
        kind="outage_calls",
        title=_("%(n)s calls came in while the database was down; recorded now")
        % {"n": len(recorded)},
        severity=Severity.CRITICAL,
        data={
            "calls": [r.call_id for r in recorded],
            "duty_phones": duty_phones,
            "first_received_at": recorded[0].received_at,
            "last_received_at": recorded[-1].received_at,
        },
    )


register_alert_source("outage_calls", calls_taken_during_outage)
