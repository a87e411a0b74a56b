"""Where a dispatch goes (定位): the place from the picked region or the address, the city when
it is unknown, and the responders nearest to it, walking up the region tree."""

from directory.models import Organisation, OrganisationKind, Region, RegionLevel
from escalation import selectors
from escalation.models import Dispatch, ResponderKind


def _nearest(kind: str, region: Region | None, *, capability: str = "") -> Organisation | None:
    """The organisation of ``kind`` closest to the region, walking up the tree."""
    if region is None:
        return None
    for r in reversed(region.ancestors()):
        qs = Organisation.objects.filter(region=r, is_active=True)
        qs = qs.filter(kind=kind) if kind else qs
        for org in qs.order_by("id"):
            if not capability or org.has_capability(capability):
                return org
    return None


def choose_legs(
    region: Region | None, *, leave_out=(), location_known: bool = True
) -> tuple[list[dict], list[str]]:
    """The responders for a place. With the place unknown, ``region`` is the city: its 110
    command centre and 120 dispatch centre go out, and no community can be chosen."""
    legs: list[dict] = []
    missing: list[str] = []
    district = region.ancestor_at(RegionLevel.DISTRICT) if region else None
    city = region.ancestor_at(RegionLevel.CITY) if region else None
    candidates = {
        ResponderKind.POLICE: _nearest(OrganisationKind.POLICE, district or region),
        ResponderKind.AMBULANCE: _nearest(OrganisationKind.AMBULANCE, city)
        or _nearest(OrganisationKind.AMBULANCE, region),
    }
    if location_known:
        # Community committees sit at village level; walking up finds the person's own one.
        candidates[ResponderKind.COMMUNITY] = _nearest(OrganisationKind.COMMUNITY, region)
    for kind, org in candidates.items():
        if kind in leave_out:
            continue
        if org is None:
            missing.append(kind.value)
        else:
            legs.append({"kind": kind, "organisation": org, "responder": None})
    shift = selectors.on_duty_expert_shift()
    if shift is not None:
        legs.append(
            {
                "kind": ResponderKind.EXPERT,
                "organisation": shift.organisation,
                "responder": shift.user,
            }
        )
    else:
        org = _nearest("", region or city_region(), capability="psychiatric_expert")
        if org is None:
            missing.append(ResponderKind.EXPERT.value)
        else:
            legs.append({"kind": ResponderKind.EXPERT, "organisation": org, "responder": None})
    return legs, missing


def where(address: str, region: Region | None) -> tuple[Region | None, list[str]]:
    """The region to dispatch to and the warnings about the place: the picked region, else one
    named in the address, else the city (its 110/120 centres locate the caller)."""
    if region is None and address:
        region = selectors.region_named_in(address)
        if region is None:
            return None, ["address_not_matched"]
    if region is None:
        return None, ["location_unknown"]
    if region.level == RegionLevel.CITY:
        return region, ["location_unknown"]
    return region, []


def city_region() -> Region | None:
    centre = selectors.hotline_centre()
    if centre is None:
        return None
    return centre.region.ancestor_at(RegionLevel.CITY) or centre.region


def location_known(dispatch: Dispatch) -> bool:
    return dispatch.region is not None and dispatch.region.level != RegionLevel.CITY
