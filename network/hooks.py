"""Outbound hooks: which events an organisation's system receives, and their delivery.

Entitlement follows the event audiences (``realtime.audiences``): a subscription receives an event
only when the event's audience, computed by the same rule its publisher used, includes the
subscription's organisation -- a 110 platform its own police legs, a community platform its own
community legs, a hospital its referrals -- and the body carries only what that organisation's
staff see on their pages (a leg and the responders' minimal brief; a referral's reference, with
the patient data left to the authenticated FHIR export).

Each (subscription, event) is one ``HookDelivery`` row, created in the transaction of the event
itself; its attempts are escalation ``Timer`` rows (``hook:<delivery>:<attempt>``) fired by the
one worker, with backoff. A 2xx marks it delivered; the receiver sees the same
``X-Crisisline-Delivery`` id on every retry and drops duplicates by it.
"""

import json
import logging
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from directory.access import CASE_ROLES, RESPONDER_ORGANISATION_KINDS
from directory.models import OrganisationKind
from escalation import services as escalation_services
from escalation.models import DispatchLeg, Timer
from network.models import HookDelivery, HookSubscription
from network.signing import signature
from realtime import audiences as aud
from referrals.models import Referral

log = logging.getLogger(__name__)

LEG_TYPES = tuple(t for t, need in aud.EVENT_TYPES.items() if need == aud.LEG)
REFERRAL_TYPES = tuple(t for t, need in aud.EVENT_TYPES.items() if need == aud.REFERRAL)
REFERRAL_ORGANISATION_KINDS = (
    OrganisationKind.HOSPITAL,
    OrganisationKind.CONSORTIUM_HOSPITAL,
    OrganisationKind.COUNSELLING_CENTRE,
    OrganisationKind.CARE_GROUP,
)
SUBSCRIBABLE = (*LEG_TYPES, *REFERRAL_TYPES)


def types_for(organisation) -> tuple[str, ...]:
    """The event types an organisation's system may subscribe to."""
    if organisation.kind in RESPONDER_ORGANISATION_KINDS:
        return LEG_TYPES
    if organisation.kind in REFERRAL_ORGANISATION_KINDS:
        return REFERRAL_TYPES
    return ()


def _reaches(audiences: set[str], organisation_id: int) -> bool:
    """The organisation, or a case role of it, is among the audiences."""
    return aud.org(organisation_id) in audiences or any(
        aud.org_role(organisation_id, role) in audiences for role in CASE_ROLES
    )


def _leg_body(event, organisation_id: int) -> dict | None:
    leg = (
        DispatchLeg.objects.select_related("dispatch__case__person", "dispatch__region")
        .filter(pk=event.data.get("leg"))
        .first()
    )
    # Runners are left out on purpose: a hook speaks for the leg's organisation only.
    if leg is None or not _reaches(aud.leg(leg.organisation_id, None, ()), organisation_id):
        return None
    return {
        "leg": {
            "id": leg.pk,
            "dispatch": leg.dispatch_id,
            "kind": leg.kind,
            "state": leg.state,
            "ack_deadline": leg.ack_deadline.isoformat(),
            "short_code": leg.short_code,
        },
        "brief": escalation_services.case_brief(leg.dispatch),
    }


def _referral_body(event, organisation_id: int) -> dict | None:
    referral = (
        Referral.objects.select_related("sender", "receiver")
        .filter(pk=event.data.get("referral"))
        .first()
    )
    if referral is None or not _reaches(
        aud.referral(referral.sender_id, referral.receiver_id), organisation_id
    ):
        return None
    return {
        "referral": {
            "id": referral.pk,
            "kind": referral.kind,
            "state": referral.state,
            "urgency": referral.urgency,
            "sender": referral.sender.code,
            "receiver": referral.receiver.code,
            "ack_due_at": referral.ack_due_at.isoformat(),
            "fhir": f"/api/v1/referrals/{referral.pk}/fhir/",
        }
    }


def body_for(event, subscription: HookSubscription) -> dict | None:
    """The delivery's JSON, or None when the organisation may not receive this event."""
    if event.type not in subscription.event_types or event.type not in types_for(
        subscription.organisation
    ):
        return None
    if event.type in LEG_TYPES:
        data = _leg_body(event, subscription.organisation_id)
    else:
        data = _referral_body(event, subscription.organisation_id)
    if data is None:
        return None
    return {
        "event": {"id": event.id, "type": event.type, "at": event.at.isoformat()},
        "organisation": subscription.organisation.code,
        "data": data,
    }


def fan_out(event) -> list[HookDelivery]:
    """Called in the event's own transaction: one delivery per entitled subscription."""
    if event.type not in SUBSCRIBABLE:
        return []
    made = []
    subscriptions = HookSubscription.objects.filter(active=True).select_related("organisation")
    for subscription in subscriptions:
        body = body_for(event, subscription)
        if body is None:
            continue
        now = timezone.now()
        delivery, created = HookDelivery.objects.get_or_create(
            subscription=subscription,
            event=event,
            defaults={"event_type": event.type, "payload": body, "next_attempt_at": now},
        )
        if created:
            escalation_services.schedule(Timer.Kind.HOOK, f"hook:{delivery.pk}:1", now)
            made.append(delivery)
    return made


def encode(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _post(delivery: HookDelivery) -> tuple[int | None, str]:
    """One HTTP attempt: (status code or None, error words)."""
    body = encode(delivery.payload)
    timestamp = str(int(time.time()))
    request = urllib.request.Request(  # noqa: S310 - an administrator's https/http URL field
        delivery.subscription.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "crisisline-hooks/1",
            "X-Crisisline-Event": delivery.event_type,
            "X-Crisisline-Delivery": str(delivery.pk),
            "X-Crisisline-Timestamp": timestamp,
            "X-Crisisline-Signature": signature(delivery.subscription.secret, timestamp, body),
        },
    )
    try:
        with urllib.request.urlopen(  # noqa: S310
            request, timeout=settings.NETWORK_HOOK_TIMEOUT
        ) as response:
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return None, str(getattr(exc, "reason", exc))[:500]


def attempt(delivery_id: int, now: datetime) -> HookDelivery | None:
    """Send one attempt if the delivery is still pending; schedule the next on failure."""
    with transaction.atomic():
        delivery = (
            HookDelivery.objects.select_for_update()
            .select_related("subscription")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.status != HookDelivery.Status.PENDING:
            return delivery
        code, error = _post(delivery)
        delivery.attempts += 1
        delivery.last_status_code = code
        delivery.last_error = error
        if code is not None and 200 <= code < 300:
            delivery.status = HookDelivery.Status.DELIVERED
            delivery.delivered_at = timezone.now()
            delivery.next_attempt_at = None
        elif delivery.attempts >= settings.NETWORK_HOOK_MAX_ATTEMPTS:
            delivery.status = HookDelivery.Status.FAILED
            delivery.next_attempt_at = None
        else:
            backoff = settings.NETWORK_HOOK_BACKOFF
            wait = backoff[min(delivery.attempts - 1, len(backoff) - 1)]
            delivery.next_attempt_at = now + timedelta(seconds=wait)
            escalation_services.schedule(
                Timer.Kind.HOOK,
                f"hook:{delivery.pk}:{delivery.attempts + 1}",
                delivery.next_attempt_at,
            )
        delivery.save()
    return delivery


def fire_delivery_timer(timer: Timer, now: datetime) -> None:
    """The worker's step for a ``hook`` timer (key ``hook:<delivery>:<attempt>``)."""
    attempt(int(timer.key.split(":")[1]), now)
