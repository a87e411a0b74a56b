from django.urls import path

from prevention import views

app_name = "prevention"
urlpatterns = [
    path("", views.home, name="home"),
    path("tasks/<int:pk>/<slug:action>/", views.task_action, name="task_action"),
    path("campaigns/<int:pk>/groups/<int:group_pk>/slips/", views.slips, name="slips"),
    path("outreach/", views.record_activity, name="record_activity"),
]
