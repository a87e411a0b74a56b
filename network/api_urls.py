from django.urls import path

from network import api

urlpatterns = [
    path("referrals/<int:pk>/fhir/", api.ReferralFhirView.as_view(), name="referral-fhir"),
    path(
        "referrals/<int:pk>/fhir/encounter/",
        api.ReferralEncounterView.as_view(),
        name="referral-fhir-encounter",
    ),
    path(
        "partners/legs/<int:pk>/status/",
        api.PartnerLegStatusView.as_view(),
        name="partner-leg-status",
    ),
]
