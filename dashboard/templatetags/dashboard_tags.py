from django import template

register = template.Library()

DRILL_DOWN = {
    "open_cases_by_stage": "stage",
    "open_cases_by_risk": "risk",
    "open_cases_by_district": "district",
    "high_risk_no_contact": "no_contact",
}


@register.filter
def cell(row: dict, key: str):
    value = row.get(key)
    return "" if value is None else value


@register.filter
def drill_kind(table_key: str) -> str:
    return DRILL_DOWN.get(table_key, "")
