from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NetworkConfig(AppConfig):
    """The systems around the hotline (打通): FHIR for hospitals, hooks out, partner status in."""

    name = "network"
    verbose_name = _("Partner systems")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from escalation.models import Timer
        from escalation.services import register_timer_handler
        from network import hooks, receivers  # noqa: F401 - connects the event receiver

        register_timer_handler(Timer.Kind.HOOK, hooks.fire_delivery_timer)
