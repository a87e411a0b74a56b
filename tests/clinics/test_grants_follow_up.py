"""A follow-up (回访) goes only to a case worker of an organisation that holds the case."""

import pytest

from clinics.models import FollowUp


def _schedule(client, case, assignee, **extra):
    return client.post(
        "/api/v1/follow-ups/",
        {"case": case.pk, "due_at": "2030-01-01T09:00:00+08:00", "assignee": assignee.pk, **extra},
        format="json",
    )


@pytest.mark.parametrize("who", ["decision_maker", "responder", "counsellor_b", "outsider"])
def test_a_person_outside_the_casework_is_refused_as_assignee(
    request, client_for, operator, hotline_case, who
):
    response = _schedule(client_for(operator), hotline_case, request.getfixturevalue(who))
    assert response.status_code == 400, response.json()
    assert "assignee" in response.json()["fields"]
    assert not FollowUp.objects.exists()


def test_a_case_worker_of_the_holding_organisation_is_assigned(
    client_for, operator, operator2, coordinator, hotline_case
):
    for assignee in (operator2, coordinator):
        response = _schedule(client_for(operator), hotline_case, assignee)
        assert response.status_code == 201, response.json()
    assert set(FollowUp.objects.values_list("assignee__username", flat=True)) == {
        "operator2",
        "coordinator",
    }


def test_the_assignee_must_work_for_the_follow_ups_organisation(
    client_for, network, operator, counsellor_a, referral
):
    # centre A holds the case through the referral, but the follow-up is the hotline's
    refused = _schedule(client_for(operator), referral.case, counsellor_a)
    assert refused.status_code == 400 and "assignee" in refused.json()["fields"]
    ok = _schedule(
        client_for(operator), referral.case, counsellor_a, organisation=network["centre_a"].pk
    )
    assert ok.status_code == 201, ok.json()


def test_being_named_assignee_alone_opens_nothing(
    client_for, operator, operator2, decision_maker, hotline_case
):
    follow_up = FollowUp.objects.create(
        case=hotline_case,
        organisation=hotline_case.owning_organisation,
        assignee=decision_maker,  # as an old row might be
        reason="manual",
        sequence=1,
        due_at="2030-01-01T09:00:00+08:00",
    )
    leader = client_for(decision_maker)
    assert leader.get(f"/api/v1/follow-ups/{follow_up.pk}/").status_code == 404
    attempt = leader.post(
        f"/api/v1/follow-ups/{follow_up.pk}/attempts/", {"outcome": "reached"}, format="json"
    )
    assert attempt.status_code in (403, 404)
    ok = client_for(operator2).post(
        f"/api/v1/follow-ups/{follow_up.pk}/attempts/", {"outcome": "reached"}, format="json"
    )
    assert ok.status_code == 200, ok.json()
