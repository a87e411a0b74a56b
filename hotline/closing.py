"""Checks that can hold a case open. Later apps register theirs (open follow-ups, dispatches...).

Each check is ``fn(case) -> list[str]``: the reasons, in words for the person closing the case.
"""

from collections.abc import Callable

_checks: list[Callable] = []


def register_close_check(fn: Callable) -> Callable:
    if fn not in _checks:
        _checks.append(fn)
    return fn


def reasons_case_cannot_close(case) -> list[str]:
    reasons: list[str] = []
    for check in _checks:
        reasons.extend(check(case))
    return reasons
