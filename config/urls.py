from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authtoken.views import obtain_auth_token

from core import health

api_v1 = [
    path("auth/token/", obtain_auth_token, name="api-token"),
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
