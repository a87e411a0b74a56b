from django.urls import path

from clinics import safety_plan_views, views

app_name = "clinics"
urlpatterns = [
    path("counselling/", views.counsellor, name="counsellor"),
    path("hospital/", views.hospital, name="hospital"),
    path("follow-ups/", views.follow_ups, name="follow_ups"),
    path("cases/<int:pk>/", views.case_page, name="case"),
    path(
        "cases/<int:pk>/safety-plan/",
        safety_plan_views.safety_plan_page,
        name="safety_plan",
    ),
    path("cases/<int:pk>/next-step/", views.next_step_action, name="next_step"),
    path("cases/<int:pk>/follow-up/", views.follow_up_action, name="follow_up"),
    path("cases/<int:pk>/plan/", views.plan_action, name="plan"),
    path("plans/<int:pk>/measure/", views.measure_action, name="measure"),
    path("measures/<int:pk>/check-in/", views.check_in_action, name="check_in"),
    path("break-glass/", views.break_glass_page, name="break_glass"),
    path("referrals/<int:pk>/green-channel/", views.green_channel_action, name="green_channel"),
    path("referrals/<int:pk>/<slug:action>/", views.referral_action, name="referral_action"),
    path("appointments/<int:pk>/session/", views.session_action, name="session"),
    path("admissions/<int:pk>/discharge/", views.discharge_action, name="discharge"),
    path("follow-ups/<int:pk>/attempt/", views.attempt_action, name="attempt"),
]
