from django.urls import path

from prevention import public_views

app_name = "screening"
urlpatterns = [
    path("", public_views.enter_code, name="start"),
    path("consent/", public_views.consent, name="consent"),
    path("questions/", public_views.questions, name="questions"),
    path("thanks/", public_views.thanks, name="thanks"),
]
