"""Call-backs of abandoned calls (回拨): taking one, recording each attempt, and the worker's sweep
that queues the delayed ones and closes the empty cases of withheld numbers.

A task is made by ``calls._request_callback`` when a caller hangs up while waiting. Taking it
puts its call-back in the queue (if it is not there yet) and accepts it, which dials the number;
the operator then records the attempt: "reached" goes on as an ordinary call (triage, wrap-up),
any other outcome ends the call-back; "no answer" and "busy" leave the task open to be tried
again (queued once more after a growing delay, or taken at once from the console).
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Conflict, Forbidden, Invalid, NotFound
from hotline.caseplan import DECIDE, OpenItem
from hotline.events import publish_call, publish_callback
from hotline.models import (
    ATTEMPT_OUTCOMES,
    FINAL_CALLBACK_OUTCOMES,
    WAITING_STATUSES,
    Call,
    CallbackAttempt,
    CallbackOutcome,
    CallbackTask,
    CallChannel,
    CallStatus,
    Case,
    PresenceStatus,
    Risk,
    Stage,
)
from hotline.services.calls import _close_callback, _queue_callback, accept_call
from hotline.services.cases import SYSTEM, _close
from hotline.services.presence import (
    offer_waiting,
    presence_for,
    require_operator,
    set_presence_status,
)


def _locked(task: CallbackTask) -> CallbackTask:
    try:
        return (
            # Only the task's row: its call-back call may be none (an outer join).
            CallbackTask.objects.select_for_update(of=("self",))
            .select_related("abandoned_call", "queue_call")
            .get(pk=task.pk)
        )
    except CallbackTask.DoesNotExist as exc:
        raise NotFound(_("No such call-back.")) from exc


def take_callback(actor, task: CallbackTask) -> Call:
    """Take a call-back: queue it now if it is not in the queue yet, and accept it (409 when it
    is closed or another operator is dialling it)."""
    require_operator(actor, task.abandoned_call.hotline_id)
    with transaction.atomic():
        task = _locked(task)
        if task.status != CallbackTask.Status.OPEN:
            raise Conflict(_("This call-back is already closed."), code="callback_closed")
        queued = task.queue_call
        if queued is not None and queued.status not in WAITING_STATUSES:
            raise Conflict(
                _("%(who)s is already calling this number back.") % {"who": queued.operator},
                code="callback_taken",
            )
        if queued is None:
            queued = _queue_callback(task, actor, offer=False)
    # accept_call locks the call again and answers 409 to the second of two operators.
    return accept_call(actor, queued)


def record_callback_attempt(actor, task: CallbackTask, *, outcome: str, note: str = "") -> Call:
    """What the dialled call-back came to; only the operator holding it records it."""
    if outcome not in ATTEMPT_OUTCOMES:
        raise Invalid(
            _("Choose what came of the call: reached, no answer, busy, wrong number, declined."),
            fields={"outcome": [_("Unknown value.")]},
        )
    now = timezone.now()
    with transaction.atomic():
        task = _locked(task)
        if task.status != CallbackTask.Status.OPEN:
            raise Conflict(_("This call-back is already closed."), code="callback_closed")
        call = task.queue_call
        if call is not None:
            call = Call.objects.select_for_update().get(pk=call.pk)
        if call is None or call.operator_id != actor.pk or call.status != CallStatus.IN_PROGRESS:
            raise Forbidden(
                _("Take the call-back first: only the operator dialling it records the attempt."),
                code="not_your_call",
            )
        CallbackAttempt.objects.create(
            task=task, call=call, operator=actor, outcome=outcome, note=note[:500], at=now
        )
        publish_callback("callback.attempted", task, actor, outcome=outcome, note=note)
        if outcome == CallbackOutcome.REACHED:
            # The person is on the line: triage and wrap-up as for any call.
            _close_callback(task, actor, outcome, now, note)
            return call
        call.end_unreached()
        call.ended_at = now
        call.notes = (call.notes + "\n" + note).strip() if note else call.notes
        call.save()
        publish_call("call.ended", call, actor, callback_outcome=outcome)
        presence = presence_for(actor, call.hotline_id)
        set_presence_status(presence, PresenceStatus.AVAILABLE, actor, now)
        if outcome in FINAL_CALLBACK_OUTCOMES:
            _close_callback(task, actor, outcome, now, note)
        else:
            failed = task.attempts.exclude(outcome=CallbackOutcome.REACHED).count()
            task.queue_call = None
            task.due_at = now + timedelta(seconds=settings.CALLBACK_DELAY_SECONDS * failed)
            task.save(update_fields=["queue_call", "due_at"])
        offer_waiting(call.hotline_id, actor)
    return call


def sweep(now) -> None:
    """The worker's round (``escalation.sources.housekeeping``): due call-backs go into the
    queue; abandoned withheld calls whose case stayed empty close it."""
    due = CallbackTask.objects.filter(
        status=CallbackTask.Status.OPEN, queue_call__isnull=True, due_at__lte=now
    ).values_list("pk", flat=True)
    for pk in list(due[:50]):
        with transaction.atomic():
            task = _locked(CallbackTask(pk=pk))
            if task.status == CallbackTask.Status.OPEN and task.queue_call_id is None:
                _queue_callback(task, SYSTEM)
    for case in list(empty_abandoned_cases(now)[:50]):
        _close_empty_case(case)


def empty_abandoned_cases(now):
    """Open cases whose only calls are abandoned ones from a withheld number, the last ended
    ``ABANDONED_EMPTY_CASE_CLOSE_MINUTES`` ago, with nothing else written in them."""
    cutoff = now - timedelta(minutes=settings.ABANDONED_EMPTY_CASE_CLOSE_MINUTES)
    return (
        Case.objects.open()
        # Nothing decided by hand: the computed "decide: close or plan" is all it has.
        .filter(stage=Stage.DISCOVERY, risk=Risk.NONE, summary="", next_step_kind=DECIDE)
        .filter(
            calls__status=CallStatus.ABANDONED,
            calls__from_number="",
            calls__channel=CallChannel.TWILIO_VOICE,
        )
        .exclude(calls__ended_at__gt=cutoff)
        .exclude(calls__status__in=[s for s in CallStatus.values if s != CallStatus.ABANDONED])
        .exclude(calls__from_number__gt="")
        .exclude(triages__isnull=False)
        .exclude(callback_tasks__isnull=False)
        .distinct()
        .order_by("pk")
    )


def _close_empty_case(case: Case) -> None:
    with transaction.atomic():
        case = Case.objects.select_for_update().get(pk=case.pk)
        if not case.is_open:
            return
        try:
            with transaction.atomic():
                _close(
                    SYSTEM,
                    case,
                    _(
                        "Closed by the system: the caller hung up before anyone answered, from "
                        "a withheld number (nobody to call back), and nothing else is in the case."
                    ),
                )
        except Conflict:
            return  # another app holds it open (its own close check): leave it


def case_items(case: Case):
    """The case's open call-backs as open items (``hotline.caseplan``): the operators' queue
    answers for a call-back, under the case's coordinator."""
    for task in case.callback_tasks.filter(status=CallbackTask.Status.OPEN).order_by("due_at"):
        yield OpenItem(
            key=f"callback:{task.pk}",
            kind="callback",
            text=_("Call back the caller who hung up (call %(id)s)")
            % {"id": task.abandoned_call_id},
            due=task.due_at,
        )
