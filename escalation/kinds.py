"""The kinds of alert the system raises and the keys of each one's ``data`` (documented in
docs/alerts.md and as an enum in the API schema). A kind raised anywhere must be listed here:
tests/escalation/test_alert_kinds.py checks every registered source against this list."""

from django.db import models


class AlertKind(models.TextChoices):
    REFERRAL_OVERDUE = "referral_overdue", "referral_overdue"
    FOLLOW_UP_OVERDUE = "follow_up_overdue", "follow_up_overdue"
    FOLLOW_UP_LOST = "follow_up_lost", "follow_up_lost"
    CHECK_IN_OVERDUE = "check_in_overdue", "check_in_overdue"
    QUEUE_SURGE = "queue_surge", "queue_surge"
    CALLER_WAITING = "caller_waiting", "caller_waiting"
    OPERATOR_MISSED_OFFERS = "operator_missed_offers", "operator_missed_offers"
    OUTAGE_CALLS = "outage_calls", "outage_calls"
    BREAK_GLASS = "break_glass", "break_glass"
    DISPATCH_LEG_UNACKNOWLEDGED = "dispatch_leg_unacknowledged", "dispatch_leg_unacknowledged"
    DISPATCH_RESPONDER_MISSING = "dispatch_responder_missing", "dispatch_responder_missing"
    ASSIGNMENT_OVERDUE = "assignment_overdue", "assignment_overdue"
    LOGIN_LOCKOUT = "login_lockout", "login_lockout"
    CASE_IDLE = "case_idle", "case_idle"
    CALLBACK_OVERDUE = "callback_overdue", "callback_overdue"
    OPERATOR_NEEDS_HELP = "operator_needs_help", "operator_needs_help"


# kind -> the keys its ``data`` carries (ids are row ids; times ISO 8601).
DATA_KEYS: dict[str, tuple[str, ...]] = {
    AlertKind.REFERRAL_OVERDUE: ("referral", "urgency", "ack_due_at", "receiver"),
    AlertKind.FOLLOW_UP_OVERDUE: ("follow_up", "due_at"),
    AlertKind.FOLLOW_UP_LOST: ("follow_up",),
    AlertKind.CHECK_IN_OVERDUE: ("measure", "plan"),
    AlertKind.QUEUE_SURGE: ("surge", "peak_length"),
    AlertKind.CALLER_WAITING: ("hotline", "call", "queued_at", "waiting"),
    AlertKind.OPERATOR_MISSED_OFFERS: ("hotline", "operator", "missed_offers"),
    AlertKind.OUTAGE_CALLS: ("calls", "duty_phones", "first_received_at", "last_received_at"),
    AlertKind.BREAK_GLASS: ("grant", "organisation", "by", "note"),
    AlertKind.DISPATCH_LEG_UNACKNOWLEDGED: ("dispatch", "leg", "kind"),
    AlertKind.DISPATCH_RESPONDER_MISSING: ("dispatch", "missing"),
    AlertKind.ASSIGNMENT_OVERDUE: ("alert", "organisation"),
    AlertKind.LOGIN_LOCKOUT: ("username", "ip_address"),
    AlertKind.CASE_IDLE: ("case", "due_at"),
    AlertKind.CALLBACK_OVERDUE: ("callback", "call", "due_at"),
    AlertKind.OPERATOR_NEEDS_HELP: ("hotline", "call", "operator"),
}
