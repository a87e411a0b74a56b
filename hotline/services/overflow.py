"""Overflow between hotline centres (来电溢出): a centre's waiting voice call goes to its partner
centre when the centre is closed, has had no operator free for its wait limit, or has more calls
waiting than its maximum.

The call moves in Twilio (the caller's call is updated to ``<Enqueue>`` the partner's queue)
and here (``Call.answering_centre``); the owning centre keeps the call and the case
(``Call.hotline``, ``Case.owning_organisation``). The partner gets a time-limited grant on that
case only, ending a short while after the call's wrap-up, and the owner hears the disposition
back (``call.overflow_disposed``: its call roles, and the case timeline).

The worker's housekeeping runs ``sweep``; the voice webhook calls ``route_on_arrival``.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from twilio.base.exceptions import TwilioException
from twilio.twiml.voice_response import VoiceResponse

from core.telephony import twilio_client, twilio_configured
from hotline.events import publish_call
from hotline.models import (
    WAITING_STATUSES,
    Call,
    CallChannel,
    CallStatus,
    CaseAccess,
    CentreRouting,
    Disposition,
)
from hotline.overflow_models import queue_name_of
from hotline.selectors import queue_length
from hotline.services.cases import SYSTEM, end_access, grant_access
from hotline.services.presence import available_operator_ids, offer_waiting
from hotline.signals import disposition_made
from hotline.voice import QUEUE_NAME

log = logging.getLogger(__name__)

CLOSED, NO_OPERATOR, QUEUE_FULL = "closed", "no_operator", "queue_full"


def routing_of(centre_id: int) -> CentreRouting | None:
    return CentreRouting.objects.select_related("partner").filter(centre_id=centre_id).first()


def _partner_takes(routing: CentreRouting | None, now) -> bool:
    if routing is None or routing.partner is None or not routing.partner.is_active:
        return False
    partner_routing = routing_of(routing.partner_id)
    return partner_routing is None or partner_routing.is_open(now)


def overflow_reasons(routing: CentreRouting, now) -> dict[int, str]:
    """The centre's queued voice calls that should go to the partner now, with why. A call
    being offered is being answered here; a call already overflowed stays where it is."""
    calls = list(
        Call.objects.filter(
            hotline_id=routing.centre_id,
            answering_centre__isnull=True,
            status=CallStatus.QUEUED,
            channel=CallChannel.TWILIO_VOICE,
        ).order_by("rank_at", "id")
    )
    if not calls:
        return {}
    if not routing.is_open(now):
        return {c.pk: CLOSED for c in calls}
    found: dict[int, str] = {}
    limit = routing.max_queue_length
    if limit is not None:
        over = queue_length(routing.centre_id) - limit
        # The last in queue order go: the first keep their place.
        for call in calls[::-1][: max(over, 0)]:
            found[call.pk] = QUEUE_FULL
    if not available_operator_ids(routing.centre_id, now):
        waited = now - timedelta(seconds=routing.wait_limit)
        for call in calls:
            if call.queued_at <= waited:
                found.setdefault(call.pk, NO_OPERATOR)
    return found


def _absolute(path: str) -> str:
    base = (settings.TWILIO_WEBHOOK_BASE_URL or settings.ESCALATION_PUBLIC_BASE_URL).rstrip("/")
    return base + path


def enqueue_twiml(partner) -> str:
    """Put the caller in the partner's Twilio queue, with the usual wait loop."""
    response = VoiceResponse()
    response.enqueue(
        queue_name_of(partner),
        wait_url=_absolute(reverse("hotline-twilio-wait")),
        wait_url_method="POST",
    )
    return str(response)


def move_call(call: Call, reason: str, *, actor=SYSTEM, in_twilio: bool = True) -> bool:
    """Overflow one waiting call to its centre's partner: True if it moved. ``in_twilio=False``
    when the caller is not yet in a Twilio queue (the webhook's TwiML enqueues them)."""
    now = timezone.now()
    routing = routing_of(call.hotline_id)
    if not _partner_takes(routing, now):
        return False
    partner = routing.partner
    with transaction.atomic():
        call = Call.objects.select_for_update().get(pk=call.pk)
        if call.status != CallStatus.QUEUED or call.answering_centre_id is not None:
            return False
        call.answering_centre = partner
        call.overflowed_at = now
        call.overflow_reason = reason
        call.save(update_fields=["answering_centre", "overflowed_at", "overflow_reason"])
        if call.case is not None:
            grant_access(
                call.case,
                partner,
                reason=CaseAccess.Reason.OVERFLOW,
                note=_("Overflow call %(id)s") % {"id": call.pk},
                ends_at=now + timedelta(hours=settings.HOTLINE_OVERFLOW_GRANT_MAX_HOURS),
            )
        publish_call(
            "call.overflowed",
            call,
            actor,
            reason=reason,
            from_centre=call.hotline_id,
            to_centre=partner.pk,
            to_centre_name=partner.name,
        )
    if in_twilio:
        _update_in_twilio(call, partner)
    with transaction.atomic():
        offer_waiting(partner.pk, actor)
    return True


def _update_in_twilio(call: Call, partner) -> None:
    """Outside the transaction: a slow or failed request must not hold the locks."""
    if not twilio_configured():
        return
    try:
        twilio_client().calls(call.call_sid).update(twiml=enqueue_twiml(partner))
    except TwilioException:
        log.warning("moving call %s to %s failed", call.call_sid, partner, exc_info=True)


def route_on_arrival(call: Call) -> str:
    """A new call to a closed centre goes straight to the partner: the Twilio queue name the
    caller's TwiML enqueues them in (the usual one when it stays)."""
    routing = routing_of(call.hotline_id)
    if (
        call.answering_centre_id is None
        and routing is not None
        and not routing.is_open()
        and move_call(call, CLOSED, in_twilio=False)
    ):
        call.refresh_from_db()
    if call.answering_centre_id:
        return queue_name_of(call.answering_centre)
    return QUEUE_NAME


def end_overflow_grants(now) -> int:
    """The partner's grant ends ``HOTLINE_OVERFLOW_GRANT_GRACE_MINUTES`` after the last call it
    answered on the case is over (wrap-up done, or the caller hung up while waiting)."""
    grace = timedelta(minutes=settings.HOTLINE_OVERFLOW_GRANT_GRACE_MINUTES)
    ended = 0
    grants = CaseAccess.objects.live(now).filter(
        reason=CaseAccess.Reason.OVERFLOW, user__isnull=True
    )
    for grant in grants:
        calls = Call.objects.filter(
            case_id=grant.case_id, answering_centre_id=grant.organisation_id
        )
        if calls.filter(status__in=[*WAITING_STATUSES, "in_progress", "wrap_up"]).exists():
            continue
        last = calls.aggregate(
            wrapped=Max("wrap_up_ended_at"), ended=Max("ended_at"), moved=Max("overflowed_at")
        )
        over = max(t for t in last.values() if t is not None) if any(last.values()) else now
        at = over + grace
        if grant.ends_at is None or grant.ends_at > at:
            ended += end_access(
                grant.case, grant.organisation_id, reason=CaseAccess.Reason.OVERFLOW, at=at
            )
    return ended


def sweep(now) -> int:
    """The worker's housekeeping: move the calls that should overflow, end lapsed grants."""
    moved = 0
    for routing in CentreRouting.objects.filter(partner__isnull=False).select_related("partner"):
        if not _partner_takes(routing, now):
            continue
        for call_pk, reason in overflow_reasons(routing, now).items():
            moved += move_call(Call(pk=call_pk, hotline_id=routing.centre_id), reason)
    end_overflow_grants(now)
    return moved


@receiver(disposition_made, dispatch_uid="hotline.overflow.report_back")
def report_disposition(sender, *, actor, case, disposition, call, summary, **kwargs):
    """The partner's operator made the disposition: the owning centre hears it back (its call
    roles, live, and the case timeline in words)."""
    if call is None or not call.answering_centre_id:
        return None
    partner = call.answering_centre
    text = _("Answered and handled by %(centre)s: %(disposition)s") % {
        "centre": partner.name,
        "disposition": Disposition(disposition).label,
    }
    publish_call(
        "call.overflow_disposed",
        call,
        actor,
        disposition=disposition,
        risk=summary.get("risk"),
        answered_by=partner.name,
        outcome=text,
    )
    return None
