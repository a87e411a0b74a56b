"""The operator console page and the triage preview it calls while the operator asks."""


def test_the_preview_derives_risk_with_the_documented_rule(client_for, operator):
    client = client_for(operator)
    answers = {
        "wish_to_be_dead": True,
        "active_thoughts": True,
        "method_thoughts": True,
        "intent": True,
        "plan": False,
        "behaviour_3_months": False,
        "behaviour_ever": False,
        "harm_to_others": False,
        "in_danger_now": False,
    }
    response = client.post("/api/v1/triage/preview/", answers, format="json")
    assert response.status_code == 200
    assert response.json() == {"derived_risk": "high", "missing": []}


def test_the_preview_names_what_is_still_missing_and_derives_nothing(client_for, operator):
    response = client_for(operator).post(
        "/api/v1/triage/preview/", {"active_thoughts": True}, format="json"
    )
    body = response.json()
    assert body["derived_risk"] is None
    assert "method_thoughts" in body["missing"] and "in_danger_now" in body["missing"]


def test_the_preview_is_only_for_hotline_staff(client_for, counsellor_a, outsider):
    for user in (counsellor_a, outsider):
        assert (
            client_for(user).post("/api/v1/triage/preview/", {}, format="json").status_code == 403
        )


def test_the_console_page_offers_the_screen_and_the_separate_one_key_button(client, operator):
    client.force_login(operator)
    body = client.get("/console/").content.decode()
    for item in ("wish_to_be_dead", "intent", "in_danger_now"):
        assert f'data-item="{item}"' in body
    assert 'id="one-key"' in body and 'value="emergency"' in body


def test_the_console_page_is_refused_to_a_coordinator(client, coordinator):
    client.force_login(coordinator)
    assert client.get("/console/").status_code == 403


def test_the_preview_refuses_a_body_that_is_not_an_object(client_for, operator):
    response = client_for(operator).post("/api/v1/triage/preview/", [None, None], format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
