from django.urls import path

from clinics import views

app_name = "clinics"
urlpatterns = [
    path("counselling/", views.counsellor, name="counsellor"),
    path("hospital/", views.hospital, name="hospital"),
]
