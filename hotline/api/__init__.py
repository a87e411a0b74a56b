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

__all__ = [
    "CallViewSet",
    "CallbackViewSet",
    "CaseViewSet",
    "MyPresenceView",
    "PersonViewSet",
    "RosterView",
    "TriagePreviewView",
    "VoiceTokenView",
]
