"""研判草稿: the risk screen's answers are kept on the server while the operator holds the call,
read back after a reload, refused to anyone else, and gone once the triage is recorded."""

import json

from hotline.models import Triage, TriageDraft
from tests.hotline.conftest import SCREEN_NONE


def _url(call):
    return f"/api/v1/calls/{call.pk}/triage-draft/"


HALF = {
    "wish_to_be_dead": True,
    "active_thoughts": False,
    "protective_factors": ["family_support"],
    "notes": "说最近睡不好",
    "contact_phone": "13900000077",
}


def test_the_holder_saves_a_draft_and_reads_it_back(client_for, operator, held_call):
    client = client_for(operator)
    empty = client.get(_url(held_call))
    assert empty.status_code == 200, empty.json()
    assert empty.json() == {"answers": {}, "saved_at": None}

    saved = client.put(_url(held_call), {"answers": HALF}, format="json")
    assert saved.status_code == 200, saved.json()
    assert saved.json()["saved_at"]

    back = client.get(_url(held_call)).json()
    assert back["answers"] == HALF
    assert back["saved_at"] == saved.json()["saved_at"]

    # The last save wins: the whole form each time.
    client.put(_url(held_call), {"answers": {"wish_to_be_dead": False}}, format="json")
    assert client.get(_url(held_call)).json()["answers"] == {"wish_to_be_dead": False}
    assert TriageDraft.objects.count() == 1


def test_the_draft_is_encrypted_at_rest(operator, held_call, client_for):
    from django.db import connection

    client_for(operator).put(_url(held_call), {"answers": HALF}, format="json")
    with connection.cursor() as cursor:
        cursor.execute("SELECT answers FROM hotline_triagedraft")
        (stored,) = cursor.fetchone()
    assert "说最近睡不好" not in stored and "wish_to_be_dead" not in stored


def test_bad_answers_are_a_400_beside_the_field_and_change_nothing(client_for, operator, held_call):
    client = client_for(operator)
    for body in (
        {"answers": {"wish_to_be_dead": "perhaps"}},
        {"answers": {"risk": "catastrophic"}},
        {"answers": {"no_such_field": 1}},
        {"answers": "not a dict"},
        {},
    ):
        response = client.put(_url(held_call), body, format="json")
        assert response.status_code == 400, (body, response.json())
        assert "answers" in response.json()["fields"]
    assert not TriageDraft.objects.exists()


def test_only_the_operator_holding_the_call_may_read_or_write_its_draft(
    client_for, operator, operator2, coordinator, counsellor_a, nurse, outsider, held_call
):
    client_for(operator).put(_url(held_call), {"answers": HALF}, format="json")
    for user in (operator2, coordinator):
        client = client_for(user)
        read = client.get(_url(held_call))
        assert read.status_code == 403, (user, read.json())
        assert read.json()["code"] == "not_your_call"
        write = client.put(_url(held_call), {"answers": {"notes": "x"}}, format="json")
        assert write.status_code == 403, (user, write.json())
    for user in (counsellor_a, nurse, outsider):
        client = client_for(user)
        assert client.get(_url(held_call)).status_code == 403
        assert client.put(_url(held_call), {"answers": {}}, format="json").status_code == 403
    stored = TriageDraft.objects.get()
    assert json.loads(stored.answers)["notes"] == "说最近睡不好"


def test_recording_the_triage_deletes_the_draft_and_no_draft_is_taken_after(
    client_for, operator, held_call
):
    client = client_for(operator)
    client.put(_url(held_call), {"answers": HALF}, format="json")
    done = client.post(
        f"/api/v1/calls/{held_call.pk}/triage/",
        {**SCREEN_NONE, "disposition": "resolved"},
        format="json",
    )
    assert done.status_code == 200, done.json()
    assert Triage.objects.filter(call=held_call).exists()
    assert not TriageDraft.objects.exists()
    late = client.put(_url(held_call), {"answers": HALF}, format="json")
    assert late.status_code == 409 and late.json()["code"] == "wrong_call_status"
    assert client.get(_url(held_call)).json() == {"answers": {}, "saved_at": None}
    assert not TriageDraft.objects.exists()


def test_an_incomplete_screen_names_the_missing_items_in_words(client_for, operator, held_call):
    response = client_for(operator).post(
        f"/api/v1/calls/{held_call.pk}/triage/",
        {"in_danger_now": False, "disposition": "resolved"},
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert set(body["fields"]) == {
        "wish_to_be_dead",
        "active_thoughts",
        "behaviour_3_months",
        "behaviour_ever",
        "harm_to_others",
    }
    assert "wish_to_be_dead" not in body["detail"]
    assert "Wished to be dead or not wake up" in body["detail"]
