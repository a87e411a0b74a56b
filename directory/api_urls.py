from django.urls import path
from rest_framework.routers import SimpleRouter

from directory import api

router = SimpleRouter()
router.register("regions", api.RegionViewSet, basename="region")
router.register("organisations", api.OrganisationViewSet, basename="organisation")

urlpatterns = [path("me/", api.me, name="me"), *router.urls]
