from django.urls import path

from hotline import recording_views, views

app_name = "hotline"
urlpatterns = [
    path("", views.console, name="console"),
    path("people/<int:pk>/merge/", views.merge_person, name="merge_person"),
    path("recordings/<int:pk>/", recording_views.play, name="recording"),
]
