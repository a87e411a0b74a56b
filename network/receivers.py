"""Every event that a subscription may receive becomes its delivery in the same transaction."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from network import hooks
from realtime.models import Event


@receiver(post_save, sender=Event, dispatch_uid="network_hooks_fan_out")
def event_written(sender, instance: Event, created: bool, **kwargs) -> None:
    if created:
        hooks.fan_out(instance)
