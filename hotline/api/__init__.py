"""The hotline's REST API: the case file (``cases``) and the console's calls (``calls``)."""

from hotline.api.callbacks import CallbackViewSet
from hotline.api.calls import (
    CallViewSet,
    MyPresenceView,
    RosterView,
    TriagePreviewView,
    VoiceTokenView,
)
from hotline.api.cases import CaseViewSet, PersonViewSet
from hotline.api.conference import CallConferenceViewSet

__all__ = [
    "CallConferenceViewSet",
    "CallViewSet",
    "CallbackViewSet",
    "CaseViewSet",
    "MyPresenceView",
    "PersonViewSet",
    "RosterView",
    "TriagePreviewView",
    "VoiceTokenView",
]
