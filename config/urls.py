from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.http import HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from core import health
from directory.account_views import ApiLogoutAllView, ApiLogoutView, ObtainTokenView
from hotline.webchat.views import chat_page

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
    path("", include("network.api_urls")),
    path("prevention/", include("prevention.api_urls")),
]

twilio = [
    path("", include("hotline.twilio_urls")),
    path("", include("escalation.twilio_urls")),
]

# The API docs: for members only (the schema needs a session or a token too), Swagger UI from
# drf-spectacular-sidecar, its start-up script as a file of its own (the split view) so that
# script-src stays 'self'; Swagger UI sets inline styles, allowed on this page only.
api_docs = csp_update({"style-src": ["'unsafe-inline'"]})(
    login_required(SpectacularSwaggerSplitView.as_view(url_name="schema"))
)


def favicon(request):
    """Browsers ask for /favicon.ico on every page (and on the admin's, which has no <link>)."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))


urlpatterns = [
    path("favicon.ico", favicon),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include(api_v1)),
    path("twilio/", include(twilio)),
    path("wechat/", include("hotline.wechat_urls")),  # the Official Account's callback (微信)
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", api_docs, name="api-docs"),
    path("screening/", include("prevention.public_urls")),
    path("chat/", chat_page, name="webchat"),  # public: the visitor's web chat (no account)
    path("prevention/", include("prevention.urls")),
    path("", include("directory.urls")),
]
