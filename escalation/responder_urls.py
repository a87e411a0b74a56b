from django.urls import path

from escalation import responder_views as views

app_name = "responder"
urlpatterns = [
    path("", views.responder, name="page"),
    path("legs/", views.responder_legs, name="legs"),
    path("legs/<int:pk>/<slug:action>/", views.act, name="act"),
]
