"""A dispatch's responders hold the case for the dispatch and a grace period for the report."""

from datetime import timedelta

from django.utils import timezone

from escalation import services
from hotline.models import CaseAccess
from hotline.services import end_lapsed_grants


def _settle_and_close(operator, dispatch):
    for leg in dispatch.legs.all():
        services.acknowledge_leg(operator, leg)
        services.advance_leg(operator, leg, "en_route")
        services.advance_leg(operator, leg, "on_scene")
        services.advance_leg(operator, leg, "done")
    return services.close_dispatch(operator, dispatch, outcome="person_reached", help_reached=True)


def _expert_reads(client, case) -> int:
    return client.get(f"/api/v1/cases/{case.pk}/").status_code


def test_the_grants_end_after_the_grace_and_the_end_is_recorded(
    client_for, operator, hotline_case, responders, settings
):
    settings.DISPATCH_GRANT_GRACE_HOURS = 2
    expert = client_for(responders["expert"])
    dispatch = services.create_dispatch(operator, hotline_case, address="月河街12号")
    assert _expert_reads(expert, hotline_case) == 200
    dispatch = _settle_and_close(operator, dispatch)
    grants = CaseAccess.objects.filter(case=hotline_case, reason="dispatch")
    assert grants.count() == 4
    assert {g.ends_at for g in grants} == {dispatch.closed_at + timedelta(hours=2)}
    assert _expert_reads(expert, hotline_case) == 200  # the report is still written
    assert end_lapsed_grants(timezone.now()) == 0
    # past the grace: closed at read time, then recorded by the worker's housekeeping
    grants.update(ends_at=timezone.now() - timedelta(seconds=1))
    assert _expert_reads(expert, hotline_case) == 404
    assert end_lapsed_grants(timezone.now()) == 4
    assert not grants.filter(revoked_at__isnull=True).exists()


def test_without_grace_the_grants_end_when_the_dispatch_closes(
    client_for, operator, hotline_case, responders, settings
):
    settings.DISPATCH_GRANT_GRACE_HOURS = 0
    dispatch = _settle_and_close(
        operator, services.create_dispatch(operator, hotline_case, address="月河街12号")
    )
    assert _expert_reads(client_for(responders["expert"]), hotline_case) == 404
    revoked = CaseAccess.objects.filter(case=hotline_case, reason="dispatch")
    assert {g.revoked_at for g in revoked} == {dispatch.closed_at}


def test_a_new_dispatch_during_the_grace_renews_the_grant(
    client_for, operator, hotline_case, responders, settings
):
    settings.DISPATCH_GRANT_GRACE_HOURS = 1
    _settle_and_close(
        operator, services.create_dispatch(operator, hotline_case, address="月河街12号")
    )
    services.create_dispatch(operator, hotline_case, address="月河街12号")
    assert (
        not CaseAccess.objects.filter(case=hotline_case, reason="dispatch")
        .exclude(ends_at=None)
        .exists()
    )
