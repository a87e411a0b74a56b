from rest_framework.routers import SimpleRouter

from escalation import api

router = SimpleRouter()
router.register("dispatches", api.DispatchViewSet, basename="dispatch")
router.register("dispatch-legs", api.LegViewSet, basename="dispatch-leg")
router.register("alerts", api.AlertViewSet, basename="alert")
router.register("escalation-policies", api.PolicyViewSet, basename="escalation-policy")

urlpatterns = router.urls
