"""The open cases behind a dashboard number (coordinators and administrators only)."""

from datetime import datetime

from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _

from core.errors import Invalid
from dashboard.selectors.common import (
    Filters,
    districts,
    drill_down_organisation_ids,
    open_cases,
)
from dashboard.selectors.live import no_contact_cases
from directory.models import Region
from hotline.models import OPEN_STAGES, Risk

DRILL_DOWNS = ("stage", "risk", "district", "no_contact", "overdue_referral", "overdue_follow_up")


def drill_down_cases(user, f: Filters, kind: str, value: str, now: datetime):
    """The open cases behind a dashboard number, limited to the user's own organisations."""
    from clinics.models import FollowUp, FollowUpState
    from referrals.models import Referral, ReferralState

    if kind not in DRILL_DOWNS:
        raise Invalid(_("Unknown drill-down."), code="invalid_drill_down", fields={"kind": [kind]})
    if kind == "no_contact":
        qs = no_contact_cases(f, now)
        if value:
            qs = qs.filter(district=_district(value))
    else:
        qs = open_cases(f)
    if kind == "stage":
        if value not in OPEN_STAGES:
            raise Invalid(_("Unknown stage."), code="invalid_drill_down", fields={"value": [value]})
        qs = qs.filter(stage=value)
    elif kind == "risk":
        if value not in Risk.values:
            raise Invalid(_("Unknown risk."), code="invalid_drill_down", fields={"value": [value]})
        qs = qs.filter(risk=value)
    elif kind == "district":
        qs = qs.filter(district=_district(value))
    elif kind == "overdue_referral":
        qs = qs.filter(
            Exists(
                Referral.objects.filter(
                    case=OuterRef("pk"), state=ReferralState.SENT, ack_due_at__lte=now
                )
            )
        )
    elif kind == "overdue_follow_up":
        qs = qs.filter(
            Exists(
                FollowUp.objects.filter(
                    case=OuterRef("pk"), state=FollowUpState.SCHEDULED, due_at__lt=now
                )
            )
        )
    orgs = drill_down_organisation_ids(user)
    if orgs is not None:
        qs = qs.filter(owning_organisation__in=orgs)
    return qs.select_related("person", "owning_organisation").order_by("opened_at", "pk")


def _district(code: str) -> Region:
    district = districts().filter(code=code).first()
    if district is None:
        raise Invalid(
            _("No such district or county."), code="invalid_drill_down", fields={"value": [code]}
        )
    return district
