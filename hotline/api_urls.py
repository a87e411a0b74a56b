from django.urls import path
from rest_framework.routers import SimpleRouter

from hotline import api
from hotline.api.safety_plans import SafetyPlanSendView, SafetyPlanView
from hotline.api.supervision import SuperviseEndView, SuperviseView

router = SimpleRouter()
router.register("people", api.PersonViewSet, basename="person")
router.register("cases", api.CaseViewSet, basename="case")
router.register("calls", api.CallViewSet, basename="call")
router.register("calls", api.CallConferenceViewSet, basename="call-conference")
router.register("callbacks", api.CallbackViewSet, basename="callback")

urlpatterns = [
    path("operators/me/presence/", api.MyPresenceView.as_view(), name="operator-presence"),
    path("operators/me/voice-token/", api.VoiceTokenView.as_view(), name="operator-voice-token"),
    path("operators/on-duty/", api.RosterView.as_view(), name="operator-roster"),
    path("triage/preview/", api.TriagePreviewView.as_view(), name="triage-preview"),
    path("calls/<int:pk>/supervise/", SuperviseView.as_view(), name="call-supervise"),
    path("calls/<int:pk>/supervise/end/", SuperviseEndView.as_view(), name="call-supervise-end"),
    path("cases/<int:id>/safety-plan/", SafetyPlanView.as_view(), name="case-safety-plan"),
    path(
        "cases/<int:id>/safety-plan/send/",
        SafetyPlanSendView.as_view(),
        name="case-safety-plan-send",
    ),
    *router.urls,
]
