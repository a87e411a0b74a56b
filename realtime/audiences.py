"""Audience names and the channel-layer groups they map to."""

from directory.access import is_administrator, memberships

EVERYONE = "all"  # administrators' group: receives every broadcast event
AUDIT = "audit"  # kept on the log, never broadcast


def user(user_id: int) -> str:
    return f"user:{user_id}"


def org(org_id: int) -> str:
    return f"org:{org_id}"


def org_role(org_id: int, role: str) -> str:
    return f"orgrole:{org_id}:{role}"


def group_name(audience: str) -> str:
    """Channel-layer group names allow only ASCII letters, digits, hyphens, underscores, periods."""
    return "aud." + audience.replace(":", ".")


def audiences_for(user_obj) -> set[str]:
    """Every audience a user belongs to now; recomputed on each connect and membership change."""
    if not user_obj or not user_obj.is_authenticated:
        return set()
    found = {user(user_obj.pk)}
    for m in memberships(user_obj):
        found.add(org(m.organisation_id))
        found.add(org_role(m.organisation_id, m.role))
    if is_administrator(user_obj):
        found.add(EVERYONE)
    return found
