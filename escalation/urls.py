from django.urls import path

from escalation import views, views_supervision

app_name = "escalation"
urlpatterns = [
    path("", views.coordinator, name="coordinator"),
    path("board/", views.board_fragment, name="board"),
    path("alerts/<int:pk>/", views.alert_detail, name="alert"),
    path("alerts/<int:pk>/<slug:action>/", views.alert_action, name="alert_action"),
    path("legs/<int:pk>/<slug:action>/", views.leg_action, name="leg_action"),
    path("dispatches/<int:pk>/close/", views.dispatch_close, name="dispatch_close"),
    path(
        "calls/<int:pk>/supervise/<slug:mode>/",
        views_supervision.supervise_action,
        name="supervise",
    ),
]
