"""分级研判与处置: the risk screen of a call and its one disposition."""

import json

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Invalid
from hotline.caseplan import refresh_next_step
from hotline.events import publish_call
from hotline.models import (
    RISK_ORDER,
    Call,
    CallStatus,
    Case,
    Disposition,
    Stage,
    Triage,
    TriageDraft,
)
from hotline.services.calls import _callback_reached_on_triage, _require_holder
from hotline.services.cases import (
    _advance,
    _is_behind,
    _require_case_access,
    _set_risk,
    create_person,
    open_case,
)
from hotline.services.presence import presence_for, settle_presence
from hotline.signals import disposition_made
from hotline.triage import (
    ITEMS,
    SCREEN_LABELS,
    check_disposition,
    derive_risk,
    is_lower,
    missing_items,
)


def _check(
    screen: dict,
    disposition: str,
    risk: str | None,
    lowered_reason: str,
    override_reason: str,
    consent: bool,
    consent_override_reason: str,
) -> tuple[str, str]:
    """Refuse an incomplete or inconsistent triage before anything is locked; returns the
    derived and the final risk."""
    missing = missing_items(screen)
    if missing:
        raise Invalid(
            _("The risk screen is incomplete; answer: %s")
            % _("; ").join(str(SCREEN_LABELS[item]) for item in missing),
            code="screen_incomplete",
            fields={item: [_("This item is required.")] for item in missing},
        )
    if disposition not in Disposition.values:
        raise Invalid(
            _(
                "Choose one disposition: resolved, refer, continue the existing referral or "
                "emergency."
            ),
            fields={"disposition": [_("Unknown value.")]},
        )
    derived = derive_risk(screen)
    final = risk or derived
    if final not in RISK_ORDER:
        raise Invalid(_("Unknown risk level: %s") % final, fields={"risk": [_("Unknown value.")]})
    if is_lower(final, derived) and not lowered_reason.strip():
        raise Invalid(
            _("Lowering the risk below the screen's %(derived)s needs a written reason.")
            % {"derived": derived},
            code="lowering_needs_reason",
            fields={"lowered_reason": [_("Required when lowering the risk.")]},
        )
    check_disposition(final, disposition, override_reason)
    if not consent and not consent_override_reason.strip():
        raise Invalid(
            _("Without the caller's consent, say why the information is shared."),
            fields={"consent_override_reason": [_("Required without consent.")]},
        )
    return derived, final


def _case_of(actor, call: Call) -> Case:
    """The call's open case, locked: its own, else the person's open one, else a new one."""
    if call.case_id is not None:
        case = Case.objects.select_for_update().get(pk=call.case_id)
        if case.is_open:
            return case
    person = call.person or create_person(actor, is_anonymous=True)
    case = person.cases.open().select_for_update().first() or open_case(
        actor, person=person, owning_organisation=call.hotline
    )
    call.person, call.case = person, case
    return case


def triage_call(
    actor,
    call: Call,
    *,
    screen: dict,
    disposition: str,
    protective_factors: list[str] = (),
    notes: str = "",
    risk: str | None = None,
    lowered_reason: str = "",
    override_reason: str = "",
    consent: bool = True,
    consent_override_reason: str = "",
    contact_phone: str = "",
    location: str = "",
) -> Triage:
    """分级研判与处置: record the risk screen, fix the risk and make exactly one disposition
    (resolved / refer / emergency), all in one transaction with the receivers of
    ``disposition_made`` (the referral or the dispatch is created with it, or nothing is).

    Locks the call, then its case, once each, and checks the operator's access to the case once;
    the case's risk and stage are then written by the case file's own helpers, with the same
    events as ``set_risk`` and ``advance_case_if_behind``; the next step is computed last."""
    derived, final = _check(
        screen,
        disposition,
        risk,
        lowered_reason,
        override_reason,
        consent,
        consent_override_reason,
    )
    now = timezone.now()
    with transaction.atomic():
        call = Call.objects.select_for_update().get(pk=call.pk)
        _require_holder(actor, call, (CallStatus.IN_PROGRESS,))
        case = _case_of(actor, call)
        _require_case_access(actor, case)
        screen_values = {item: screen.get(item) for item in ITEMS}
        triage = Triage.objects.create(
            call=call,
            case=case,
            operator=actor,
            **screen_values,
            protective_factors=list(protective_factors),
            notes=notes,
            derived_risk=derived,
            risk=final,
            lowered_reason=lowered_reason,
            disposition=disposition,
            override_reason=override_reason,
            consent=consent,
            consent_override_reason=consent_override_reason,
            contact_phone=contact_phone,
            location=location,
            created_at=now,
        )
        reason = lowered_reason or _("Hotline triage (call %(id)s)") % {"id": call.pk}
        _set_risk(actor, case, final, reason)
        if _is_behind(case, Stage.INTERVENTION):
            _advance(actor, case, Stage.INTERVENTION, _("Triaged on a hotline call"))
        call.case = case
        _callback_reached_on_triage(actor, call, now)
        TriageDraft.objects.filter(call=call).delete()
        call.start_wrap_up()
        call.wrap_up_started_at = now
        call.save()
        presence = presence_for(actor, call.hotline_id)
        # Wrap-up, or still on a call while another text conversation goes on.
        settle_presence(presence, actor, now)
        summary = {
            "risk": final,
            "derived_risk": derived,
            "screen": screen_values,
            "protective_factors": list(protective_factors),
            "notes": notes,
            "caller_relation": call.caller_relation,
            "consent": consent,
            "consent_override_reason": consent_override_reason,
            "contact_phone": str(contact_phone or call.from_number or ""),
            "location": location,
            "override_reason": override_reason,
        }
        # The receivers answer with what they created (referral, dispatch, follow-ups).
        answers = disposition_made.send(
            sender=Triage,
            actor=actor,
            case=case,
            disposition=disposition,
            call=call,
            summary=summary,
        )
        publish_call(
            "call.triaged",
            call,
            actor,
            triage=triage.pk,
            derived_risk=derived,
            risk=final,
            lowered_reason=lowered_reason,
            disposition=disposition,
            override_reason=override_reason,
        )
        # Last: the referral, dispatch or follow-ups the disposition made are the next step.
        refresh_next_step(case, actor)
    triage.created = [
        obj
        for _receiver, answer in answers
        for obj in (answer if isinstance(answer, list | tuple) else [answer])
        if obj is not None
    ]
    return triage


def triage_draft(actor, call: Call) -> tuple[dict, object]:
    """研判草稿: the answers saved so far on the call the operator holds, and when they were
    saved (``({}, None)`` when nothing is saved)."""
    _require_holder(actor, call, (CallStatus.IN_PROGRESS, CallStatus.WRAP_UP))
    draft = TriageDraft.objects.filter(call=call).first()
    if draft is None:
        return {}, None
    return json.loads(draft.answers or "{}"), draft.saved_at


def save_triage_draft(actor, call: Call, answers: dict) -> TriageDraft:
    """Keep the answers typed so far (the whole form each time, the last save wins) while the
    operator holds the call and has not yet recorded the triage."""
    with transaction.atomic():
        call = Call.objects.select_for_update().get(pk=call.pk)
        _require_holder(actor, call, (CallStatus.IN_PROGRESS,))
        draft, _created = TriageDraft.objects.update_or_create(
            call=call,
            defaults={
                "operator": actor,
                "answers": json.dumps(answers, ensure_ascii=False),
                "saved_at": timezone.now(),
            },
        )
    return draft
