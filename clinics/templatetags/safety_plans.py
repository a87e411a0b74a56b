"""The current safety plan of a case, for the rows of the care pages (inbox, follow-ups)."""

from django import template

from hotline.services.safety_plans import current_version

register = template.Library()


@register.simple_tag
def current_safety_plan(case):
    return current_version(case)


@register.simple_tag
def last_safety_plan_review(follow_up):
    return follow_up.safety_plan_reviews.select_related("version").order_by("-at", "-id").first()
