"""Twilio webhooks answered by the hotline (inbound voice)."""

urlpatterns: list = []
