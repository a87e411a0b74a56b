"""A declined, cancelled or revoked referral ends the receiver's access to the case at once."""

import pytest

from hotline.models import CaseAccess
from referrals import services


def _reads(client, case):
    return (
        client.get(f"/api/v1/cases/{case.pk}/").status_code,
        client.get(f"/api/v1/people/{case.person_id}/").status_code,
    )


def _end(how, referral, operator, counsellor_a):
    if how == "declined":
        services.decline(counsellor_a, referral, reason="本中心本周无空档")
    elif how == "cancelled":
        services.acknowledge(counsellor_a, referral)
        services.cancel(counsellor_a, referral, reason="来访者已转外地就医")
    else:
        services.revoke(operator, referral, reason="家属改送医院")


@pytest.mark.parametrize("how", ["declined", "cancelled", "revoked"])
def test_the_receiver_stops_reading_the_person_when_the_referral_ends(
    client_for, operator, counsellor_a, referral, how
):
    case = referral.case
    assert referral.receiver.code == "centre-a"
    reader = client_for(counsellor_a)
    assert _reads(reader, case) == (200, 200)
    _end(how, referral, operator, counsellor_a)
    referral.refresh_from_db()
    assert referral.state == how
    assert _reads(reader, case) == (404, 404)
    grant = CaseAccess.objects.get(case=case, reason="referral")
    assert grant.revoked_at == referral.closed_at
    # the sender still holds its case
    assert _reads(client_for(operator), case) == (200, 200)


def test_a_live_referral_to_the_same_receiver_keeps_its_access(
    client_for, operator, counsellor_a, referral
):
    from referrals.models import Referral

    # a second, older live referral to the same centre (as a parent of an onward transfer)
    second = Referral.objects.create(
        case=referral.case,
        kind=referral.kind,
        sender=referral.sender,
        receiver=referral.receiver,
        sent_by=operator,
        urgency=referral.urgency,
        reason="另一次转介",
        snapshot={},
        consent=True,
        sent_at=referral.sent_at,
        ack_due_at=referral.ack_due_at,
    )
    services.decline(counsellor_a, second, reason="重复转介")
    assert _reads(client_for(counsellor_a), referral.case) == (200, 200)
