"""The case page's timeline in words: each event's title, kind and details for a reader.

Which events a reader gets is ``realtime.selectors.case_timeline`` (the events' audiences, the
same rule as the live feed); this module only says them in words, never as raw types.
"""

from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clinics.models import FollowUpAttempt, FollowUpReason, ReviewOutcome, SessionOutcome
from hotline.models import Disposition, Risk, Stage, Triage
from hotline.triage import SCREEN_LABELS
from realtime.labels import event_label
from referrals.models import HospitalService, PreAssessment

KINDS = {
    "call": gettext_lazy("Calls"),
    "case": gettext_lazy("The case"),
    "referral": gettext_lazy("Referrals"),
    "care": gettext_lazy("Appointments and admission"),
    "follow_up": gettext_lazy("Follow-ups"),
    "plan": gettext_lazy("Assistance plans"),
    "safety_plan": gettext_lazy("Safety plan"),
    "emergency": gettext_lazy("Emergency"),
}

# The kind of an event is its family (the part before the dot): a new type files itself.
KIND_OF_FAMILY = {
    "call": "call",
    "callback": "call",
    "case": "case",
    "person": "case",
    "referral": "referral",
    "screening": "case",
    "green_channel": "referral",
    "appointment": "care",
    "admission": "care",
    "follow_up": "follow_up",
    "plan": "plan",
    "safety_plan": "safety_plan",
    "dispatch": "emergency",
    "message": "emergency",
    "alert": "emergency",
}


def kind_of(event_type: str) -> str:
    return KIND_OF_FAMILY.get(event_type.split(".", 1)[0], "case")


@dataclass
class Entry:
    pk: int
    at: object
    actor: object
    kind: str
    title: str
    details: list[tuple[str, str]] = field(default_factory=list)


def _choice(choices, value) -> str:
    return str(dict(choices).get(value, value or "—"))


def _moment(value) -> str:
    when = parse_datetime(value) if isinstance(value, str) else value
    if when is None:
        return ""
    return timezone.localtime(when).strftime("%Y-%m-%d %H:%M")


def _screen_yes(screen: dict) -> str:
    """The screen's answers in words: the items answered yes (or that none was)."""
    yes = [str(label) for item, label in SCREEN_LABELS.items() if screen.get(item)]
    return "；".join(yes) if yes else _("No to every screen question")


def _details(event, related) -> list[tuple[str, str]]:
    d, t = event.data or {}, event.type
    out: list[tuple[str, str]] = []

    def add(label, value):
        if value not in (None, "", []):
            out.append((str(label), str(value)))

    if t == "call.triaged":
        triage = related["triages"].get(d.get("triage"))
        if triage is not None:
            add(_("Screen"), _screen_yes({i: getattr(triage, i) for i in SCREEN_LABELS}))
            add(_("Notes"), triage.notes)
        add(_("Risk"), _choice(Risk.choices, d.get("risk")))
        add(_("Disposition"), _choice(Disposition.choices, d.get("disposition")))
        add(_("Why the risk was lowered"), d.get("lowered_reason"))
        add(_("Why the disposition differs"), d.get("override_reason"))
    elif t.startswith("call."):
        add(_("Caller"), d.get("person_name") or d.get("caller_name"))
        add(_("Operator"), d.get("operator_name"))
    elif t == "case.opened":
        add(_("Person"), d.get("name"))
        add(_("Stage"), _choice(Stage.choices, d.get("stage")))
        add(_("Risk"), _choice(Risk.choices, d.get("risk")))
    elif t in ("case.stage_changed", "case.risk_changed"):
        choices = Stage.choices if t == "case.stage_changed" else Risk.choices
        add(_("From"), _choice(choices, d.get("from")))
        add(_("To"), _choice(choices, d.get("to")))
        add(_("Reason"), d.get("reason"))
    elif t == "case.next_step_set":
        add(_("Next step"), d.get("next_step"))
        add(_("Due"), _moment(d.get("due")))
    elif t == "case.closed":
        add(_("Reason"), d.get("reason"))
    elif t == "case.access_granted":
        add(_("Organisation"), d.get("name"))
    elif t == "case.break_glass":
        add(_("Who"), d.get("username"))
        add(_("Reason"), d.get("reason"))
        add(_("Until"), _moment(d.get("expires_at")))
    elif t == "person.updated":
        add(_("Person"), d.get("name"))
    elif t.startswith("referral.") or t == "green_channel.booked":
        _referral_details(add, t, d, related)
    elif t == "appointment.booked":
        add(_("Time"), _moment(d.get("starts_at")))
    elif t == "appointment.attended":
        add(_("Outcome"), _choice(SessionOutcome.choices, d.get("outcome")))
    elif t == "admission.admitted":
        add(_("Ward"), d.get("ward"))
        add(_("Bed"), d.get("bed"))
    elif t == "admission.discharged":
        add(_("Follow-up plan"), d.get("plan"))
    elif t.startswith("follow_up."):
        add(_("Reason"), _choice(FollowUpReason.choices, d.get("reason")))
        add(_("Due"), _moment(d.get("due_at")))
        if d.get("outcome"):
            add(_("Outcome"), _choice(FollowUpAttempt.Outcome.choices, d.get("outcome")))
            add(_("Failed attempts"), d.get("failed"))
    elif t.startswith("safety_plan."):
        add(_("Version"), d.get("version"))
        if t == "safety_plan.saved":
            add(_("SMS consent"), {True: _("Yes"), False: _("No")}.get(d.get("sms_consent")))
        add(_("SMS parts"), d.get("parts"))
        add(
            _("Review"),
            _choice(ReviewOutcome.choices, d.get("outcome")) if d.get("outcome") else "",
        )
    elif t.startswith("plan."):
        add(_("Done"), {True: _("Yes"), False: _("No")}.get(d.get("done")))
        add(_("Note"), d.get("note"))
        add(_("Reason"), d.get("reason"))
    return out


def _referral_details(add, t, d, related) -> None:
    referral = related["referrals"].get(d.get("referral"))
    if referral is not None and t == "referral.sent":
        add(_("Kind"), referral.get_kind_display())
        add(_("From"), referral.sender.name)
    add(_("To"), d.get("receiver_name"))
    if t == "referral.sent":
        add(_("Urgency"), _choice(Risk.choices, d.get("urgency")))
        add(_("Reason"), d.get("reason"))
        snapshot = referral.snapshot if referral is not None else {}
        if isinstance(snapshot.get("screen"), dict):
            add(_("Screen"), _screen_yes(snapshot["screen"]))
        add(_("Hotline notes"), snapshot.get("notes"))
    elif t == "referral.pre_assessed":
        assessment = related["assessments"].get(d.get("referral"))
        if assessment is not None:
            add(_("Risk"), assessment.get_risk_display())
            add(_("Presenting problem"), assessment.presenting_problem)
            add(_("Recommendation"), assessment.get_recommendation_display())
            add(_("Notes"), assessment.notes)
        else:
            add(_("Risk"), _choice(Risk.choices, d.get("risk")))
            add(
                _("Recommendation"),
                _choice(PreAssessment.Recommendation.choices, d.get("recommendation")),
            )
    elif t == "referral.scheduled":
        add(_("Time"), _moment(d.get("starts_at")))
    elif t == "referral.attended":
        add(_("Note"), d.get("note"))
    elif t == "referral.completed":
        add(_("Outcome"), d.get("outcome"))
    elif t in ("referral.declined", "referral.cancelled", "referral.revoked"):
        add(_("Reason"), d.get("reason"))
    elif t == "green_channel.booked":
        add(_("Service"), _choice(HospitalService.choices, d.get("service")))
        add(_("Time"), _moment(d.get("starts_at")) or _("No free slot"))
        if d.get("over_capacity"):
            add(_("Capacity"), _("Over capacity: the hospital makes room"))


def entries(events, *, referrals=(), assessments=()) -> list[Entry]:
    """The events in words. ``referrals`` and ``assessments`` are the ones the reader may see
    (their details are shown only then); a triage's details go with ``call.triaged``, which
    only the hotline receives."""
    events = list(events)
    triage_ids = [e.data.get("triage") for e in events if e.type == "call.triaged" and e.data]
    related = {
        "referrals": {r.pk: r for r in referrals},
        "assessments": {a.referral_id: a for a in assessments},
        "triages": Triage.objects.in_bulk([i for i in triage_ids if i]),
    }
    found = []
    for event in events:
        title = event_label(event.type)  # one place of event words: realtime.labels
        found.append(
            Entry(
                pk=event.pk,
                at=event.at,
                actor=event.actor,
                kind=kind_of(event.type),
                title=str(title),
                details=_details(event, related),
            )
        )
    return found


def kind_choices():
    return [(k, str(v)) for k, v in KINDS.items()]
