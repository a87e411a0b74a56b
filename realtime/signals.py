"""Consoles follow membership changes at once: a nudge to ``user:<id>`` after the commit.

The nudge is not an event (nothing happened to a case); a console that misses it still catches
up on its next heartbeat, which re-reads the user's audiences from the database.
"""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from directory.models import Membership, Organisation
from realtime import audiences as aud

log = logging.getLogger(__name__)


def nudge_consoles(user_ids) -> None:
    """Ask every console of these users to recompute its audiences (after the commit)."""
    ids = sorted(set(user_ids))
    if ids:
        transaction.on_commit(lambda: _send(ids))


def _send(user_ids: list[int]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(_send_all)(layer, user_ids)
    except Exception:
        log.warning("membership nudge failed; consoles re-check on heartbeat", exc_info=True)


async def _send_all(layer, user_ids: list[int]) -> None:
    for user_id in user_ids:
        await layer.group_send(aud.group_name(aud.user(user_id)), {"type": "console.membership"})


@receiver([post_save, post_delete], sender=Membership, dispatch_uid="realtime_membership")
def membership_changed(sender, instance: Membership, **kwargs) -> None:
    nudge_consoles([instance.user_id])


@receiver(post_save, sender=Organisation, dispatch_uid="realtime_organisation")
def organisation_changed(sender, instance: Organisation, created: bool, **kwargs) -> None:
    # Deactivating an organisation ends its members' audiences there.
    if not created:
        nudge_consoles(instance.memberships.values_list("user_id", flat=True))


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="realtime_user")
def user_changed(sender, instance, created: bool, update_fields=None, **kwargs) -> None:
    # Deactivation closes the user's consoles; superuser status changes the audiences.
    # A log-in only stamps last_login.
    if not created and set(update_fields or ()) != {"last_login"}:
        nudge_consoles([instance.pk])
