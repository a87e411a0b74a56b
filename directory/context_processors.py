from directory.access import answers_dispatch, memberships


def staff(request):
    """The signed-in user's memberships, for the page shell's navigation."""
    user = getattr(request, "user", None)
    if not user or not user.is_authenticated:
        return {"staff_roles": set(), "staff_memberships": [], "staff_responder": False}
    rows = list(memberships(user))
    return {
        "staff_roles": {m.role for m in rows},
        "staff_memberships": rows,
        "staff_responder": any(answers_dispatch(m) for m in rows),
    }
