"""The hotline's REST API: the case file (``cases``) and the console's calls (``calls``)."""

from hotline.api.calls import (
    CallViewSet,
    MyPresenceView,
    RosterView,
    TriagePreviewView,
    VoiceTokenView,
)
from hotline.api.cases import CaseViewSet, PersonViewSet

__all__ = [
    "CallViewSet",
    "CaseViewSet",
    "MyPresenceView",
    "PersonViewSet",
    "RosterView",
    "TriagePreviewView",
    "VoiceTokenView",
]
