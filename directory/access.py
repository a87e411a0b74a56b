"""Who may do what: answers computed from a user's active memberships."""

from collections.abc import Iterable

from directory.models import Membership, Role

# --- who works on what (the role sets REST and the event audiences both use) ------------------
# realtime.audiences builds every event's audiences from these; hotline.selectors and
# escalation.selectors answer REST from them. Change a set here and both follow.

# Roles whose members work on case files. Responders see only their dispatch leg and decision
# makers only counts, so neither reads a case.
CASE_ROLES = (
    Role.OPERATOR,
    Role.COUNSELLOR,
    Role.HOSPITAL_STAFF,
    Role.COORDINATOR,
    Role.EXPERT,
)
# Roles that read a hotline centre's calls (its queue, triage, caller numbers).
CALL_ROLES = (Role.OPERATOR, Role.COORDINATOR)
# Roles that supervise a hotline centre's live calls (listen, whisper, barge: 督导) and answer an
# operator's call for help.
SUPERVISOR_ROLES = (Role.COORDINATOR,)
# Roles that run a dispatch of a case their organisation owns: every leg, the whole brief.
DISPATCH_RUNNER_ROLES = (Role.OPERATOR, Role.COORDINATOR, Role.EXPERT)


def memberships(user):
    if not user or not user.is_authenticated:
        return Membership.objects.none()
    return Membership.objects.active().filter(user=user).select_related("organisation")


def organisation_ids(user, roles: Iterable[str] | None = None) -> set[int]:
    qs = memberships(user)
    if roles is not None:
        qs = qs.filter(role__in=list(roles))
    return set(qs.values_list("organisation_id", flat=True))


def roles_of(user) -> set[str]:
    return set(memberships(user).values_list("role", flat=True))


def has_role(user, *roles: str, organisation=None) -> bool:
    qs = memberships(user).filter(role__in=roles)
    if organisation is not None:
        qs = qs.filter(organisation=organisation)
    return qs.exists()


def is_administrator(user) -> bool:
    """Superusers and holders of the administrator role see the whole network."""
    if not user or not user.is_authenticated:
        return False
    return user.is_superuser or has_role(user, Role.ADMINISTRATOR)


# 处置单位: the organisations whose members answer one-key dispatch legs.
RESPONDER_ORGANISATION_KINDS = ("police", "ambulance", "community", "expert_pool")


def answers_dispatch(membership) -> bool:
    """A responder or expert role anywhere, or any role in a police, ambulance, community or
    expert-pool organisation."""
    return (
        membership.role in (Role.RESPONDER, Role.EXPERT)
        or membership.organisation.kind in RESPONDER_ORGANISATION_KINDS
    )


def responder_organisation_ids(user) -> set[int]:
    """Organisations whose dispatch legs this user answers."""
    return {m.organisation_id for m in memberships(user) if answers_dispatch(m)}


def is_responder(user) -> bool:
    return bool(responder_organisation_ids(user))
