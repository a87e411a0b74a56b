"""Domain errors raised by services; every edge (API, page, WebSocket, Twilio) maps them alike."""

from contextlib import contextmanager

from django_fsm import TransitionNotAllowed


class DomainError(Exception):
    """A request the domain refuses. ``message`` is meant for the person who made it."""

    status_code = 400
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, fields: dict | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.fields = fields or {}


class Invalid(DomainError):
    status_code = 400
    code = "invalid"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    """The state changed under the caller (someone else won a race) or forbids the action."""

    status_code = 409
    code = "conflict"


@contextmanager
def refused_as_conflict(message: str, *, code: str = "illegal_transition"):
    """The one place a state machine's refusal (``TransitionNotAllowed``) becomes a ``Conflict``
    with words for the person who asked; every service wraps its transitions in it."""
    try:
        yield
    except TransitionNotAllowed as exc:
        raise Conflict(message, code=code) from exc
