"""Signals the hotline sends so later apps can act without the hotline importing them.

``disposition_made`` is sent inside the triage transaction: a receiver that raises rolls the
whole triage back, so a referral (referrals app) or a dispatch (escalation app) is created in
the same transaction as the disposition, or neither is.
"""

from django.dispatch import Signal

# kwargs: actor, call, case, triage, disposition ("resolved" | "refer" | "emergency")
disposition_made = Signal()
