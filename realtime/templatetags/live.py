from django import template

from realtime.models import Event

register = template.Library()


@register.simple_tag
def live_cursor() -> int:
    """The newest event id when the page is rendered: what the page already shows."""
    return Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
