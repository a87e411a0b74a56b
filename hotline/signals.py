"""Signals the hotline sends so later apps can act without the hotline importing them.

``disposition_made`` is sent inside the triage transaction: a receiver that raises rolls the
whole triage back, so a referral (referrals app) or a dispatch (escalation app) is created in
the same transaction as the disposition, or neither is.
"""

from django.dispatch import Signal

# kwargs:
#   actor        the operator (User)
#   case         the person's hotline.Case (locked in the current transaction)
#   disposition  "resolved" | "refer" | "emergency"
#   call         the hotline Call, or None when the disposition was made without a call
#   summary      a JSON-able snapshot for the receiver: {"risk", "derived_risk", "screen": {...},
#                "protective_factors": [...], "notes", "caller_relation", "consent": bool,
#                "consent_override_reason", "contact_phone", "location", "override_reason"}
# A receiver returns what it created (a model instance, a list of them, or None); triage names
# them in its answer.
disposition_made = Signal()

# Sent inside the transaction of ``expire_offers`` when an operator let
# ``HOTLINE_MISSED_OFFERS_BREAK`` offers lapse in a row and was put on a break.
# kwargs: presence (hotline.OperatorPresence, locked), call (the last lapsed Call), actor
offers_missed = Signal()
