from rest_framework.routers import SimpleRouter

from hotline import api

router = SimpleRouter()
router.register("people", api.PersonViewSet, basename="person")
router.register("cases", api.CaseViewSet, basename="case")

urlpatterns = router.urls
