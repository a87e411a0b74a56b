"""督导 on the coordinator's board: the live calls of the hotlines the coordinator supervises,
with listen / whisper / barge / end beside each; the wrap-up time of each operator today.
The buttons post here; board.js sends them with fetch and draws the answer beside the row."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from core.errors import DomainError
from escalation.live_calls import CALL_TAG
from escalation.views import _answer, _back, _refused, _require_coordinator
from hotline.models import Call
from hotline.services.supervision import end_supervision, supervise

ACTION_WORDS = {
    "listen": gettext_lazy("Listening to call #%(id)s (your line is muted)."),
    "whisper": gettext_lazy("Whispering on call #%(id)s: only the operator hears you."),
    "barge": gettext_lazy("You are in call #%(id)s: the caller and the operator hear you."),
}


@require_POST
@login_required
def supervise_action(request, pk: int, mode: str):
    """监听 / 耳语 / 强插 / 结束督导 from the board (the API's supervise and supervise/end)."""
    _require_coordinator(request.user)
    if mode not in (*ACTION_WORDS, "end"):
        raise Http404
    call = get_object_or_404(Call, pk=pk)
    tag = request.POST.get("item", "") or CALL_TAG % call.pk
    if not tag.startswith(("call-", "alert-")):
        tag = CALL_TAG % call.pk
    back = _back(request, reverse("escalation:coordinator") + f"#{tag}")
    try:
        if mode == "end":
            end_supervision(request.user, call)
            words = _("You have left call #%(id)s.") % {"id": call.pk}
        else:
            supervise(request.user, call, mode=mode)
            words = str(ACTION_WORDS[mode]) % {"id": call.pk}
    except DomainError as exc:
        return _refused(request, tag, exc, back)
    return _answer(request, tag, True, words, 200, back)
