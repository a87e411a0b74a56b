"""求助: an operator on a live call asks the on-duty coordinator for help; the alert carries the
call, and the board offers to listen in at once (hotline.services.supervision)."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Conflict
from directory.models import Role
from escalation.models import Alert, AlertState, Severity
from escalation.services.alerts import AlertSpec, raise_alert
from hotline import caseplan
from hotline.events import publish_call
from hotline.models import Call, CallStatus
from hotline.services.presence import require_operator

KIND = "operator_needs_help"


def request_help(actor, call: Call) -> Alert:
    """The call's operator presses "need help": one alert per call at a time (pressing again
    while it is open returns it), addressed to the hotline's on-duty coordinator."""
    require_operator(actor, call.hotline_id)
    with transaction.atomic():
        call = Call.objects.select_for_update(of=("self",)).select_related("case").get(pk=call.pk)
        if call.operator_id != actor.pk or call.status != CallStatus.IN_PROGRESS:
            raise Conflict(
                _("You can ask for help only on a call you are talking on."), code="not_live"
            )
        raised = Alert.objects.filter(kind=KIND, data__call=call.pk)
        running = raised.filter(state__in=[AlertState.OPEN, AlertState.ACKNOWLEDGED]).first()
        if running is not None:
            return running
        coordinator = caseplan.on_duty_coordinator(call.hotline_id, timezone.now())
        alert, _created = raise_alert(
            AlertSpec(
                dedup_key=f"{KIND}:{call.pk}:{raised.count() + 1}",
                kind=KIND,
                title=_("%(operator)s needs help on a live call") % {"operator": actor},
                severity=Severity.CRITICAL,
                target_user=coordinator,
                target_organisation=None if coordinator else call.hotline,
                target_role="" if coordinator else Role.COORDINATOR,
                case=call.case,
                data={"hotline": call.hotline_id, "call": call.pk, "operator": actor.pk},
            )
        )
        publish_call("call.help_requested", call, actor, alert=alert.pk)
    return alert
