from django.urls import path
from rest_framework.routers import SimpleRouter

from escalation import api
from escalation.api_help import NeedHelpView

router = SimpleRouter()
router.register("dispatches", api.DispatchViewSet, basename="dispatch")
router.register("dispatch-legs", api.LegViewSet, basename="dispatch-leg")
router.register("alerts", api.AlertViewSet, basename="alert")
router.register("escalation-policies", api.PolicyViewSet, basename="escalation-policy")

urlpatterns = [
    path("calls/<int:pk>/need-help/", NeedHelpView.as_view(), name="call-need-help"),
    *router.urls,
]
