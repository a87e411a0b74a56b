"""The recording player's source: an authenticated stream of one call recording (收听录音).

Only the file's bytes go out, to a reader of the case, and each request is a listen on the
case's read log (the player asks only when played: ``preload="none"``).
"""

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core.errors import NotFound
from hotline.services import recording as recordings


@never_cache
@require_GET
@login_required
def play(request, pk: int):
    try:
        rec, handle = recordings.open_recording(request.user, pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    response = FileResponse(handle, content_type=rec.content_type or "application/octet-stream")
    response["Content-Disposition"] = "inline"
    return response
