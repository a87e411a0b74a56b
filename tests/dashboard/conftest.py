from datetime import timedelta

import pytest
from django.utils import timezone

from tests.conftest import sign_in
from tests.factories import MembershipFactory, UserFactory

SECRET_NOTE = "母亲离婚后独居，曾提到安眠药"  # note text that must never reach a decision maker


@pytest.fixture
def dash_client(client):
    """``dash_client(user)``: a browser-like client signed in as the user, English pages."""

    def make(user):
        sign_in(client, user)
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        return client

    return make


@pytest.fixture
def coordinator_b(network):
    """A coordinator of counselling centre B: may drill down, but only into B's cases."""
    user = UserFactory(username="coordinator_b")
    MembershipFactory(user=user, organisation=network["centre_b"], role="coordinator")
    return user


@pytest.fixture
def sensitive_case(hotline_case, network, operator):
    """The open hotline case with notes everywhere a note can be: person, case, call, triage."""
    from hotline.models import Call, Person

    Person.objects.filter(pk=hotline_case.person_id).update(notes=SECRET_NOTE)
    hotline_case.summary = SECRET_NOTE
    hotline_case.save(update_fields=["summary"])
    Call.objects.create(
        call_sid="CA-sensitive",
        hotline=network["hotline"],
        status="completed",
        person=hotline_case.person,
        case=hotline_case,
        caller_name="小周妈妈",
        notes=SECRET_NOTE,
        queued_at=timezone.now() - timedelta(hours=2),
        operator=operator,
    )
    return hotline_case
