"""Twilio webhooks answered by the hotline (inbound voice)."""

from django.urls import path

from hotline import twilio_views

urlpatterns: list = [
    path("voice/incoming/", twilio_views.incoming, name="hotline-twilio-incoming"),
    path("voice/wait/", twilio_views.wait, name="hotline-twilio-wait"),
    path("voice/status/", twilio_views.status, name="hotline-twilio-status"),
    path("voice/fallback/", twilio_views.fallback, name="hotline-twilio-fallback"),
    path("sms/status/", twilio_views.sms_status, name="hotline-twilio-sms-status"),
    path("voice/conference/", twilio_views.conference_status, name="hotline-twilio-conference"),
    path("voice/hold/", twilio_views.hold_music, name="hotline-twilio-hold-music"),
    path("voice/fallback/dial/", twilio_views.fallback_dial, name="hotline-twilio-fallback-dial"),
]
