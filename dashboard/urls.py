from django.urls import path, re_path

from dashboard import views

app_name = "dashboard"
urlpatterns = [
    path("", views.home, name="home"),
    path("data.json", views.data, name="data"),
    re_path(r"^export/(?P<key>[a-z_]+)\.(?P<fmt>csv|xlsx)$", views.export, name="export"),
    path("report/", views.report, name="report"),
    path("cases/", views.cases, name="cases"),
]
