"""Twilio webhooks answered by the hotline: inbound voice, the conference, recordings, and the
delivery status of the SMS it sends (conversation replies, post-call SMS, safety plans)."""

from django.urls import path

from hotline import safety_plan_twilio, twilio_views

urlpatterns: list = [
    path("voice/incoming/", twilio_views.incoming, name="hotline-twilio-incoming"),
    path("voice/wait/", twilio_views.wait, name="hotline-twilio-wait"),
    path("voice/status/", twilio_views.status, name="hotline-twilio-status"),
    path("voice/fallback/", twilio_views.fallback, name="hotline-twilio-fallback"),
    path(
        "sms/post-call/status/",
        twilio_views.post_call_sms_status,
        name="hotline-twilio-post-call-sms-status",
    ),
    path("voice/recording/", twilio_views.recording_status, name="hotline-twilio-recording"),
    path("voice/conference/", twilio_views.conference_status, name="hotline-twilio-conference"),
    path("voice/hold/", twilio_views.hold_music, name="hotline-twilio-hold-music"),
    path("voice/fallback/dial/", twilio_views.fallback_dial, name="hotline-twilio-fallback-dial"),
    path(
        "sms/safety-plan/status/",
        safety_plan_twilio.sms_status,
        name="hotline-twilio-safety-plan-sms-status",
    ),
    path("sms/status/", twilio_views.sms_status, name="hotline-twilio-sms-status"),
]
