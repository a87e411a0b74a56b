"""The board's live calls (督导) and operators' wrap-up time today: a read for the board."""

from django.utils import timezone

from escalation.models import Alert, AlertState
from hotline.conference_models import LIVE_PARTICIPANT, ConferenceParticipant, ParticipantRole
from hotline.selectors import live_calls, supervisor_hotline_ids, wrap_up_today
from hotline.services.supervision import MODE_WORDS, PHONE_CHANNELS, mode_of

CALL_TAG = "call-%s"
HELP_KIND = "operator_needs_help"


def live_context(user, said: dict) -> dict:
    """The board's live calls (with my supervision mode and any call for help) and wrap-ups."""
    if not supervisor_hotline_ids(user):
        return {"supervises": False}
    calls = list(live_calls(user)[:100])
    ids = [c.pk for c in calls]
    mine = {
        leg.call_id: mode_of(leg)
        for leg in ConferenceParticipant.objects.filter(
            call__in=ids, role=ParticipantRole.SUPERVISOR, user=user, status__in=LIVE_PARTICIPANT
        )
    }
    helping = set(
        Alert.objects.filter(
            kind=HELP_KIND, state__in=[AlertState.OPEN, AlertState.ACKNOWLEDGED]
        ).values_list("data__call", flat=True)
    )
    now = timezone.now()
    for call in calls:
        call.my_mode = mine.get(call.pk, "")
        call.my_mode_words = MODE_WORDS.get(call.my_mode, "")
        call.needs_help = call.pk in helping
        call.on_phone = call.channel in PHONE_CHANNELS
        call.waited = _seconds(call.queued_at, call.answered_at or now)
        call.said = said.get(CALL_TAG % call.pk, [])
    wrap_ups = wrap_up_today(user)
    done = sum(r["done"] for r in wrap_ups)
    total = sum(r["total"] for r in wrap_ups)
    return {
        "supervises": True,
        "live_calls": calls,
        "wrap_ups": wrap_ups,
        "wrap_up_average": round(total / done) if done else None,
        "supervise_modes": [(m, MODE_WORDS[m]) for m in ("listen", "whisper", "barge")],
    }


def _seconds(start, end) -> int:
    return max(0, int((end - start).total_seconds())) if start and end else 0
