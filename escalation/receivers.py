"""Receivers: the emergency disposition creates the dispatch; open dispatches hold a case open."""

from django.dispatch import receiver
from django.utils.translation import gettext as _

from escalation.models import Dispatch
from escalation.services import create_dispatch
from hotline.signals import disposition_made


@receiver(disposition_made, dispatch_uid="escalation.dispatch_on_emergency")
def dispatch_on_emergency(sender, *, actor, case, disposition, call=None, summary=None, **kwargs):
    """Disposition "emergency" -> one-key dispatch in the same transaction as the triage."""
    if disposition != "emergency":
        return
    if Dispatch.objects.filter(case=case, status=Dispatch.Status.OPEN).exists():
        return  # the operator pressed the one-key button first: that dispatch is the one
    summary = summary or {}
    notes = "\n".join(
        part for part in (summary.get("notes") or "", summary.get("override_reason") or "") if part
    )
    create_dispatch(
        actor,
        case,
        call=call,
        address=summary.get("location") or "",
        notes=notes,
    )


def open_dispatches_block_closing(case) -> list[str]:
    return [
        _("emergency dispatch #%(id)s is still open") % {"id": d.pk}
        for d in Dispatch.objects.filter(case=case, status=Dispatch.Status.OPEN)
    ]
