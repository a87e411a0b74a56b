from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.csrf import ensure_csrf_cookie

from core.errors import DomainError
from directory.access import has_role
from directory.models import Role
from hotline import selectors, services, triage
from hotline.models import (
    ATTEMPT_OUTCOME_CHOICES,
    MANUAL_CHANNEL_CHOICES,
    SETTABLE_PRESENCE_CHOICES,
    CallChannel,
    CallerRelation,
    Disposition,
    FlagKind,
    Person,
    PresenceStatus,
    Risk,
)
from hotline.softphone import softphone_config, with_softphone_policy


@login_required
@ensure_csrf_cookie
@with_softphone_policy
def console(request):
    """热线接线台: the live queue, the current call with its history, the risk screen."""
    if not has_role(request.user, Role.OPERATOR):
        raise PermissionDenied(_("The hotline console is for hotline operators."))
    screen = [
        (name, triage.SCREEN_LABELS[name], name in triage.IF_ACTIVE_THOUGHTS)
        for name in (
            "wish_to_be_dead",
            "active_thoughts",
            *triage.IF_ACTIVE_THOUGHTS,
            "behaviour_3_months",
            "behaviour_ever",
            "harm_to_others",
            "in_danger_now",
        )
    ]
    return render(
        request,
        "hotline/console.html",
        {
            "presence_choices": SETTABLE_PRESENCE_CHOICES,
            "manual_channels": MANUAL_CHANNEL_CHOICES,
            "caller_relations": CallerRelation.choices,
            "screen_items": screen,
            "protective_factors": triage.PROTECTIVE_FACTORS,
            "risks": Risk.choices,
            "attempt_outcomes": ATTEMPT_OUTCOME_CHOICES,
            "messages_js": _console_messages(),
            "help_words": _help_words(),
            "softphone_js": softphone_config(request.user),
            **_person_context(),
        },
    )


def _help_words() -> dict:
    """Words of console_help.js: need help (求助) and responders joined to the call."""
    return {
        "helpSent": _("Help requested: %s has been alerted."),
        "sending": _("Sending…"),
        "joinService": {
            "110": _("Police 110"),
            "120": _("Ambulance 120"),
            "expert": _("Expert on duty"),
        },
        "joined": _("%s is being dialled into the call."),
        "failed": _("The server did not answer; try again."),
    }


def _person_context() -> dict:
    """The console's person panel (identify, flags) and search: choices and the script's words."""
    return {
        "person_genders": Person.Gender.choices,
        "person_languages": Person.Language.choices,
        "flag_kinds": FlagKind.choices,
        "person_messages": {
            "saved": _("Saved."),
            "no_results": _("Nobody found."),
            "found": _("%s found"),
            "searching": _("Searching…"),
            "too_short": _("Type a name, at least 4 digits of a number, or a case number."),
            "use_for_call": _("This is the caller"),
            "case": _("Case"),
            "open_case": _("open"),
            "clear": _("Clear"),
            "clear_why": _("Why clear it (required)"),
            "clear_why_needed": _("Say why the flag is cleared."),
            "clear_confirm": _("Clear the flag"),
            "until": _("until %s"),
            "set_by": _("set by %s"),
            "age": _("%s years"),
            "no_place_found": _("No place found."),
            "network_error": _("The server could not be reached; try again."),
            "genders": dict(Person.Gender.choices),
            "languages": dict(Person.Language.choices),
            "fields": {
                "name": _("Name"),
                "alias": _("Alias"),
                "birth_year": _("Age or birth year"),
                "school": _("School or workplace"),
                "home_region": _("Home region"),
                "phone": _("Phone"),
                "phones": _("Phone numbers"),
                "guardians": _("Guardian"),
                "language": _("Language"),
                "reason": _("Why"),
                "expires_at": _("Until"),
                "kind": _("Flag"),
            },
        },
    }


def _console_messages() -> dict:
    """Strings the console script shows, in the request's language."""
    return {
        "waiting": _("waiting"),
        # A text conversation in hand is headed as one, not as a call.
        "call_title": _("Current call"),
        "conversation_title": _("Current conversation"),
        "talk_time": _("Talk time"),
        "conversation_time": _("Conversation time"),
        "overflow_from": _("Overflow call from %s"),
        "offered_to_you": _("Offered to you"),
        # Why a contact waits higher in the queue (``Call.priority_reasons``, hotline.queue).
        "priority_reasons": {
            "callback": _("Call-back of an abandoned call"),
            "not_safe_now": _("Not safe right now"),
            "known_high_risk": _("Known high risk"),
            "transfer_110": _("Transfer from police 110"),
        },
        "offer_left": _("answer within %s s"),
        "offer_lapsed": _(
            "A call offered to you was not answered in time and went back to the queue. "
            "You are still available."
        ),
        "offer_lapsed_break": _(
            "You let %s offered calls lapse in a row and were put on a break. "
            "Set yourself available when you are back."
        ),
        "accept": _("Accept"),
        "call_back": _("Call back"),
        "due_in": _("due %s"),
        "attempts": _("attempts: %s"),
        "hung_up": _("hung up %s ago"),
        "accepted_elsewhere": _("Another operator has taken this call."),
        "unsaved": _("The risk screen has unsaved answers. Leave anyway?"),
        "confirm_emergency": _(
            "Police 110, ambulance 120, the community and the expert on duty are alerted at once "
            "with what is known now. With no place known, the city's 110 and 120 centres locate "
            "the caller."
        ),
        "confirm_send": _("Confirm: send help"),
        "confirm_place": _("Confirm the place"),
        "set_place_hint": _("Pick the place or type the address; the responders are told at once."),
        "sending": _("Sending…"),
        "dispatch_title": _("Emergency dispatch #%s"),
        "closed": _("closed"),
        "place": _("Place"),
        "place_unknown": _("not known yet"),
        "no_place_found": _("No place found; type the address instead."),
        "not_assessed": _("Not assessed"),
        "fields": {
            "address": _("Address said on the call"),
            "region": _("Place"),
            "leave_out": _("Responders left out"),
            "leave_out_reason": _("Why it is not needed"),
            "case": _("Case"),
            "call": _("Call"),
            "override_reason": _("Override reason"),
            "lowered_reason": _("Why lower than derived"),
            "consent_override_reason": _("Reason to share without consent"),
            "contact_phone": _("Contact phone"),
            "location": _("Where the person is now"),
            "risk": _("Final risk"),
            "disposition": _("Disposition"),
            "notes": _("Notes"),
            "channel": _("Line"),
            "from_number": _("Caller's number"),
            "caller_name": _("Caller's name"),
            "status": _("My status"),
            "protective_factors": _("Protective factors"),
            "consent": _("Caller consents to sharing with the receiving centre"),
            **{name: str(label) for name, label in triage.SCREEN_LABELS.items()},
        },
        "fix_marked": _("%s answers are missing or need a change: see the marked items."),
        "draft_saved": _("Draft saved %s"),
        "draft_saving": _("Saving the draft…"),
        "draft_unsaved": _(
            "Draft not saved: the connection is lost. The answers stay on this screen and are "
            "saved as soon as it is back."
        ),
        "triaged": _("Triage recorded"),
        "dispatch_started": _("Emergency dispatch #%s is running."),
        "no_case": _("This call has no case yet; identify the person first."),
        "risk": _("risk"),
        "none": _("none"),
        "anonymous": _("unknown caller"),
        "no_previous": _("No earlier calls."),
        "on_duty": _("On duty now"),
        "nobody_on_duty": _("Nobody is rostered now!"),
        "network_error": _("The server could not be reached; try again."),
        "risks": dict(Risk.choices),
        # A level and the word "risk" joined read "None risk": each badge is one phrase.
        "risk_badges": {
            Risk.NONE: _("No risk"),
            Risk.LOW: _("Low risk"),
            Risk.MODERATE: _("Moderate risk"),
            Risk.HIGH: _("High risk"),
            Risk.IMMINENT: _("Imminent risk"),
        },
        "presence": dict(PresenceStatus.choices),
        "channels": dict(CallChannel.choices),
        "dispositions": dict(Disposition.choices),
        "statuses": {
            "queued": _("Waiting"),
            "offered": _("Offered"),
            "in_progress": _("In progress"),
            "wrap_up": _("Wrap-up"),
            "completed": _("Completed"),
            "abandoned": _("Abandoned"),
        },
    }


class MergeForm(forms.Form):
    other = forms.IntegerField(
        label=_lazy("Number of the other record (folded into this one)"), min_value=1
    )
    reason = forms.CharField(
        label=_lazy("Why these are the same person"), widget=forms.Textarea(attrs={"rows": 3})
    )


@login_required
def merge_person(request, pk: int):
    """合并档案: a coordinator folds a second record of the same person into this one."""
    if not services.may_merge(request.user):
        raise PermissionDenied(_("Only a coordinator may merge two people."))
    people = selectors.visible_people(request.user)
    person = get_object_or_404(people, pk=pk)
    form = MergeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        other = people.filter(pk=form.cleaned_data["other"]).first()
        if other is None:
            form.add_error("other", _("No such person among those you may see."))
        else:
            try:
                services.merge_people(
                    request.user, person, other, reason=form.cleaned_data["reason"]
                )
            except DomainError as exc:
                for field, errors in exc.fields.items():
                    form.add_error(field if field in form.fields else None, errors)
                if not exc.fields:
                    form.add_error(None, exc.message)
            else:
                messages.success(
                    request,
                    _("Merged #%(other)s into #%(id)s.") % {"other": other.pk, "id": person.pk},
                )
                return redirect("hotline:merge_person", pk=person.pk)
    services.record_read(request.user, what="person.merge_page", person_ids=[person.pk])
    return render(
        request,
        "hotline/merge_person.html",
        {
            "person": person,
            "phones": [person.phone, *person.phones.values_list("number", flat=True)],
            "cases": person.cases.order_by("-id"),
            "form": form,
        },
    )
