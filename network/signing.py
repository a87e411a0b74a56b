"""The signature on hook deliveries and on partners' status reports (docs/hooks.md).

``X-Crisisline-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`` keyed by the shared
secret, with ``X-Crisisline-Timestamp`` the Unix time in seconds.
"""

import hashlib
import hmac


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, given: str) -> bool:
    return hmac.compare_digest(signature(secret, timestamp, body), given or "")
