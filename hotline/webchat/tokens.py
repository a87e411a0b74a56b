"""The resume token a visitor's browser keeps (localStorage) to come back to its conversation.

A signed, timestamped copy of the conversation's ``call_sid`` (itself a random ``CHAT-<uuid>``,
never the row id): nothing is stored, nothing can be forged without SECRET_KEY, and it expires
CHAT_RESUME_MINUTES after it was issued. The socket issues a fresh one every minute while the
visitor is connected, so the window counts from when they left.
"""

from datetime import timedelta

from django.conf import settings
from django.core import signing

SALT = "hotline.webchat.resume"


def issue(call_sid: str) -> str:
    return signing.TimestampSigner(salt=SALT).sign(call_sid)


def call_sid_of(token: str) -> str | None:
    """The conversation's ``call_sid``, or None for a token that is forged, altered or expired."""
    if not isinstance(token, str) or len(token) > 200:
        return None
    try:
        return signing.TimestampSigner(salt=SALT).unsign(
            token, max_age=timedelta(minutes=settings.CHAT_RESUME_MINUTES)
        )
    except signing.BadSignature:  # SignatureExpired is a BadSignature too
        return None
