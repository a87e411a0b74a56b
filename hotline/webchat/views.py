"""The public chat page ``/chat/``: no account, phone-sized, behaviour in static/js/chat.js."""

from django.conf import settings
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from hotline.webchat import intake


def _numbers():
    """Shown at once to a visitor who says they are not safe, before anyone answers."""
    return [
        (_("24-hour psychological assistance hotline"), "2251885"),
        (_("National psychological assistance hotline"), "12356"),
        (_("Police"), "110"),
        (_("Ambulance"), "120"),
    ]


def _texts() -> dict:
    """The words chat.js shows, in the page's language (a JSON data block, not a script)."""
    return {
        "queue": _(
            "You are number %(position)s in the queue; expected wait about %(minutes)s min."
        ),
        "queue_soon": _("You are next; a counsellor will be with you shortly."),
        "joined": _("%(operator)s has joined the chat."),
        "joined_anonymous": _("A counsellor has joined the chat."),
        "typing": _("The counsellor is typing…"),
        "ended": _("The chat has ended. Thank you for reaching out."),
        "ended_inactive": _("The chat ended because nobody wrote for a while."),
        "ended_operator": _("The counsellor has ended the chat."),
        "ended_you": _("You ended the chat."),
        "you": _("You"),
        "counsellor": _("Counsellor"),
        "system": _("Notice"),
        "reconnecting": _("Connection lost; reconnecting…"),
        "connected": _("Connected. Please wait for a counsellor."),
        "resumed": _("Welcome back: this is your earlier chat."),
        "error_age_group": _("Choose an age group."),
        "error_safe": _("Tell us whether you are safe right now."),
        "error_district": _("Choose a district from the list."),
        "error_rate_limited": _("Too many messages; please slow down."),
        "error_too_long": _("That message is too long."),
        "error_too_large": _("That message is too long."),
        "error_bad_characters": _("The message holds characters not allowed."),
        "error_empty": _("Type a message first."),
        "error_bad_token": _("That chat cannot be continued; please start a new one."),
        "error_too_many_chats": _("Too many chats were started from here; try again later."),
        "error_too_many_sockets": _("Too many chats are open from here."),
        "error_other": _("Something went wrong; please try again."),
        "confirm_end": _("Press again to end the chat."),
    }


@require_GET
def chat_page(request):
    return render(
        request,
        "hotline/webchat.html",
        {
            "age_groups": intake.AGE_GROUPS,
            "safety": intake.SAFETY,
            "districts": intake.districts(),
            "numbers": _numbers(),
            "texts": _texts(),
            "max_chars": settings.CHAT_MESSAGE_MAX_CHARS,
        },
    )
