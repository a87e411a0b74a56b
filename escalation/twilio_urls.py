"""Twilio webhooks answered by escalation (responders acknowledge by SMS or key press)."""

urlpatterns: list = []
