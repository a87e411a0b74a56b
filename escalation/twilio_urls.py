"""Twilio webhooks answered by escalation (responders acknowledge by SMS or key press)."""

from django.urls import path

from escalation import twilio_views

app_name = "escalation-twilio"
urlpatterns = [
    path("sms/incoming/", twilio_views.sms_incoming, name="sms-incoming"),
    path("voice/gather/", twilio_views.voice_gather, name="voice-gather"),
    path("voice/alert/<str:token>/", twilio_views.voice_alert, name="voice-alert"),
]
