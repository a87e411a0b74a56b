from django.urls import path
from rest_framework.routers import SimpleRouter

from clinics import api

router = SimpleRouter()
router.register("sessions", api.SessionViewSet, basename="session")
router.register("admissions", api.AdmissionViewSet, basename="admission")
router.register("follow-ups", api.FollowUpViewSet, basename="follow-up")
router.register("plans", api.PlanViewSet, basename="plan")

urlpatterns = [
    path("break-glass/", api.BreakGlassView.as_view(), name="break-glass"),
    *router.urls,
]
