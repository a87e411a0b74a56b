"""The dispatch brief (简报) is personal data: each read of it is one audit event."""

from django.test import Client

from realtime.models import Event


def last_id() -> int:
    return Event.objects.order_by("-id").values_list("id", flat=True).first() or 0


def test_every_read_of_a_dispatch_and_its_brief_is_audited_once(
    client_for, operator, hotline_case, responders, twilio
):
    response = client_for(operator).post(
        "/api/v1/dispatches/", {"case": hotline_case.pk, "address": "月河街12号"}, format="json"
    )
    assert response.status_code == 201, response.json()
    dispatch = response.json()["id"]
    worker = responders["community_worker"]
    page = Client()
    page.force_login(worker)
    reads = [
        (client_for(operator), f"/api/v1/dispatches/{dispatch}/", operator),
        (client_for(operator), "/api/v1/dispatches/", operator),
        (client_for(worker), "/api/v1/dispatch-legs/", worker),
        (page, "/respond/", worker),
    ]
    for client, path, user in reads:
        before = last_id()
        assert client.get(path).status_code == 200, path
        new = list(Event.objects.filter(id__gt=before, type="case.read"))
        assert len(new) == 1, path
        assert new[0].actor == user and new[0].data["cases"] == [hotline_case.pk], path
