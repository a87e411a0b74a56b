"""The ``data`` of the hotline's events that several writers build (the console renders from it),
and ``publish_call``, the one way a writer publishes a ``call.*`` event."""

from hotline.models import Call, Case, Person
from realtime import audiences as aud
from realtime.publish import publish


def person_summary(person: Person) -> dict:
    return {"person": person.pk, "name": str(person), "anonymous": person.is_anonymous}


def case_opened_data(person: Person, case: Case) -> dict:
    """``case.opened``: who, and where the case starts in the loop."""
    return {**person_summary(person), "stage": case.stage, "risk": case.risk}


def call_audiences(call: Call) -> list[str]:
    """Who hears of a call (need ``calls``): its hotline centre's operators and coordinators and
    the operator it is offered to; not the case's other organisations (triage and the caller's
    number are the hotline's)."""
    found = aud.calls(call.hotline_id, call.offered_to_id)
    if call.answering_centre_id:  # overflowed (溢出): the partner centre's call roles too
        found |= aud.calls(call.answering_centre_id)
    return sorted(found)


def call_data(call: Call) -> dict:
    """The stable ``data`` of every ``call.*`` event (the console renders from it alone)."""
    case = call.case
    return {
        "call": call.pk,
        "call_sid": call.call_sid,
        "status": call.status,
        "channel": call.channel,
        "priority": call.priority,
        "priority_reasons": list(call.priority_reasons),
        "waiting_since": call.queued_at.isoformat(),
        "from_number": str(call.from_number) if call.from_number else call.from_raw,
        "caller_name": call.caller_name,
        "caller_relation": call.caller_relation,
        "person": call.person_id,
        "person_name": str(call.person) if call.person_id else "",
        "case": call.case_id,
        "stage": case.stage if case else None,
        "risk": case.risk if case else None,
        "operator": call.operator_id,
        "operator_name": str(call.operator) if call.operator_id else "",
        "offered_to": call.offered_to_id,
        "callback_of": call.callback_of_id,
        "answering_centre": call.answering_centre_id,
        "overflowed_from": call.hotline.name if call.answering_centre_id else "",
    }


def publish_call(type_: str, call: Call, actor, extra_audiences=(), **extra) -> None:
    """A ``call.*`` event with the call's data, to its audiences and any ``extra_audiences``."""
    publish(
        type_,
        case=call.case,
        actor=actor,
        data={**call_data(call), **extra},
        audiences=[*call_audiences(call), *extra_audiences],
    )


def callback_data(task) -> dict:
    """The ``data`` of every ``callback.*`` event: what the console's call-back list shows."""
    call = task.abandoned_call
    return {
        "callback": task.pk,
        "status": task.status,
        "outcome": task.outcome,
        "risk": task.risk,
        "due_at": task.due_at.isoformat(),
        "waiting_since": (call.ended_at or call.queued_at).isoformat(),
        "from_number": str(call.from_number),
        "person": call.person_id,
        "person_name": str(call.person) if call.person_id else "",
        "case": task.case_id,
        "abandoned_call": call.pk,
        "queue_call": task.queue_call_id,
        "attempts": task.attempts.count(),
    }


def publish_callback(type_: str, task, actor, **extra) -> None:
    """A ``callback.*`` event: need ``calls`` (the hotline centre's call roles)."""
    publish(
        type_,
        case=task.case,
        actor=actor,
        data={**callback_data(task), **extra},
        audiences=sorted(aud.calls(task.abandoned_call.hotline_id)),
    )
