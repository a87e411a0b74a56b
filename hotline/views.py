from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import ensure_csrf_cookie

from directory.access import has_role
from directory.models import Role
from hotline import triage
from hotline.models import (
    MANUAL_CHANNEL_CHOICES,
    SETTABLE_PRESENCE_CHOICES,
    CallChannel,
    CallerRelation,
    Disposition,
    PresenceStatus,
    Risk,
)


@login_required
@ensure_csrf_cookie
def console(request):
    """热线接线台: the live queue, the current call with its history, the risk screen."""
    if not has_role(request.user, Role.OPERATOR):
        raise PermissionDenied("The hotline console is for hotline operators.")
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
            "messages_js": _console_messages(),
        },
    )


def _console_messages() -> dict:
    """Strings the console script shows, in the request's language."""
    return {
        "waiting": _("waiting"),
        "offered_to_you": _("Offered to you"),
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
