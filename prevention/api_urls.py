from rest_framework.routers import SimpleRouter

from prevention import api

router = SimpleRouter()
router.register("campaigns", api.CampaignViewSet, basename="screening-campaign")
router.register("tasks", api.TaskViewSet, basename="screening-task")
router.register("activities", api.ActivityViewSet, basename="outreach-activity")

urlpatterns = router.urls
