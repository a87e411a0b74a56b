"""处置力量接入通话: 110, 120 or the expert on duty joined to the live call's own conference
from the dispatch panel, as one more leg (role responder) beside the caller and the operator."""

from django.db import transaction
from django.utils.translation import gettext as _

from core.errors import Conflict, Invalid
from escalation.models import Dispatch, DispatchLeg
from hotline.conference_models import ParticipantRole
from hotline.events import publish_call
from hotline.models import Call, CallStatus
from hotline.services.conference import add_participant


def responder_number(leg: DispatchLeg | None, service: str) -> str:
    """The named responder's phone, else the organisation's duty phone, else 110/120 itself."""
    if leg is not None and leg.responder_id and leg.responder.phone:
        return str(leg.responder.phone)
    if leg is not None and leg.organisation.duty_phone:
        return str(leg.organisation.duty_phone)
    if service in ("110", "120"):
        return service
    raise Invalid(
        _("No telephone number is known for this responder."),
        fields={"service": [_("No number to dial.")]},
        code="no_number",
    )


def join_responder(actor, dispatch: Dispatch, leg: DispatchLeg | None, service: str) -> str:
    """Dial the responder into the dispatch's call (which must be live); on the case's timeline."""
    number = responder_number(leg, service)
    with transaction.atomic():
        call = (
            Call.objects.select_for_update(of=("self",))
            .select_related("case")
            .get(pk=dispatch.call_id)
        )
        if call.status != CallStatus.IN_PROGRESS:
            raise Conflict(
                _("The call has ended: there is no live call to join the responder to."),
                code="call_not_live",
            )
        joined = add_participant(
            call,
            role=ParticipantRole.RESPONDER,
            to=number,
            user=leg.responder if leg is not None else None,
            early_media=True,
            actor=actor,
        )
        publish_call(
            "call.responder_joined",
            call,
            actor,
            dispatch=dispatch.pk,
            leg=leg.pk if leg is not None else None,
            service=service,
            to=number,
            participant=joined.pk,
        )
    return joined.call_sid
