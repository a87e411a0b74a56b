from django.urls import path

from hotline import views

app_name = "hotline"
urlpatterns = [
    path("", views.console, name="console"),
    path("people/<int:pk>/merge/", views.merge_person, name="merge_person"),
]
