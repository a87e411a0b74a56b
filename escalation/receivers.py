"""Receivers: the emergency disposition creates the dispatch; open dispatches hold a case open."""

import logging

from axes.signals import user_locked_out
from django.conf import settings
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext as _

from directory.models import Role
from escalation import selectors
from escalation.models import Dispatch
from escalation.services import AlertSpec, create_dispatch, raise_alert
from hotline.signals import disposition_made

log = logging.getLogger(__name__)


@receiver(disposition_made, dispatch_uid="escalation.dispatch_on_emergency")
def dispatch_on_emergency(sender, *, actor, case, disposition, call=None, summary=None, **kwargs):
    """Disposition "emergency" -> one-key dispatch in the same transaction as the triage;
    returns it so triage can name it."""
    if disposition != "emergency":
        return None
    running = Dispatch.objects.filter(case=case, status=Dispatch.Status.OPEN).first()
    if running is not None:
        return running  # the operator pressed the one-key button first: that dispatch is the one
    summary = summary or {}
    notes = "\n".join(
        part for part in (summary.get("notes") or "", summary.get("override_reason") or "") if part
    )
    return create_dispatch(
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


@receiver(user_locked_out, dispatch_uid="escalation.alert_on_lockout")
def alert_on_lockout(sender, request=None, username=None, ip_address=None, **kwargs):
    """A burst of failed sign-ins locked an account (django-axes): the administrators of the
    hotline centre get an alert, once per account and address per cool-off period."""
    try:
        raise_alert(lockout_alert_spec(username, ip_address))
    except Exception:  # the lockout itself must stand even if the alert cannot be raised
        log.exception("raising the lockout alert for %s failed", username)


def lockout_alert_spec(username: str | None, ip_address: str | None) -> AlertSpec:
    window = max(1, round(float(settings.AXES_COOLOFF_TIME) * 3600))
    bucket = int(timezone.now().timestamp()) // window
    return AlertSpec(
        dedup_key=f"login-lockout:{username}:{ip_address}:{bucket}",
        kind="login_lockout",
        title=_("Sign-in locked after repeated failures: %(user)s from %(ip)s")
        % {"user": (username or "?")[:60], "ip": ip_address or "?"},
        target_organisation=selectors.hotline_centre(),
        target_role=Role.ADMINISTRATOR,
        data={"username": (username or "")[:150], "ip_address": ip_address or ""},
    )
