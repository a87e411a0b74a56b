from django import template

from realtime import labels
from realtime.models import Event

register = template.Library()


@register.simple_tag
def live_cursor() -> int:
    """The newest event id when the page is rendered: what the page already shows."""
    return Event.objects.order_by("-id").values_list("id", flat=True).first() or 0


@register.simple_tag
def live_labels() -> dict[str, str]:
    """Every event type in words, for ``json_script`` (the live feed and the console timeline)."""
    return labels.live_labels()
