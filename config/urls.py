from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from core import health
from directory.account_views import ApiLogoutAllView, ApiLogoutView, ObtainTokenView

api_v1 = [
    # Expiring API tokens (django-rest-knox): obtain, revoke this one, revoke all of mine.
    path("auth/token/", ObtainTokenView.as_view(), name="api-token"),
    path("auth/logout/", ApiLogoutView.as_view(), name="api-logout"),
    path("auth/logoutall/", ApiLogoutAllView.as_view(), name="api-logoutall"),
    path("", include("directory.api_urls")),
    path("", include("hotline.api_urls")),
    path("", include("referrals.api_urls")),
    path("", include("clinics.api_urls")),
    path("", include("escalation.api_urls")),
]

twilio = [
    path("", include("hotline.twilio_urls")),
    path("", include("escalation.twilio_urls")),
]

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include(api_v1)),
    path("twilio/", include(twilio)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("", include("directory.urls")),
]
