"""Signals referrals send so clinics can act without referrals importing clinics.

``referral_changed`` is sent inside the service's transaction (a receiver that raises rolls the
change back). kwargs: ``actor``, ``referral``, ``change`` (the event type's suffix:
"acknowledged", "no_show", "completed", ...).
"""

from django.dispatch import Signal

referral_changed = Signal()
