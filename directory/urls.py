from django.contrib.auth import views as auth_views
from django.urls import include, path

from directory import account_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", account_views.LogoutView.as_view(), name="logout"),
    path("account/verify/", account_views.verify, name="account-verify"),
    path("account/two-step/", account_views.two_step, name="two-step"),
    path("console/", include("hotline.urls")),
    path("care/", include("clinics.urls")),
    path("coordination/", include("escalation.urls")),
    path("respond/", include("escalation.responder_urls")),
    path("dashboard/", include("dashboard.urls")),
]
