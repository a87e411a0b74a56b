"""Who may read the one-screen view, and what decision makers never see."""

import io

import pytest
from openpyxl import load_workbook

from dashboard import selectors
from realtime.models import Event
from tests.dashboard.conftest import SECRET_NOTE

URLS = [
    "/dashboard/",
    "/dashboard/data.json",
    "/dashboard/export/open_cases_by_stage.csv",
    "/dashboard/export/responsibilities.xlsx",
    "/dashboard/report/",
    "/dashboard/cases/?kind=stage&value=discovery",
]


@pytest.mark.parametrize("who", ["operator", "counsellor_a", "nurse", "responder", "outsider"])
@pytest.mark.parametrize("url", URLS)
def test_others_get_403(request, dash_client, who, url):
    client = dash_client(request.getfixturevalue(who))
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("url", [u for u in URLS if "data.json" not in u])
def test_anonymous_is_sent_to_sign_in(client, network, url):
    # data.json is read by clients too: no credentials is 401 (test_calls_and_tokens.py).
    response = client.get(url)
    assert response.status_code == 302
    assert "/login" in response["Location"] or "login" in response["Location"]


def _every_text(client) -> list[str]:
    """Every response a decision maker can get from the dashboard, as text."""
    texts = []
    for url in ("/dashboard/", "/dashboard/data.json", "/dashboard/report/"):
        response = client.get(url)
        assert response.status_code == 200, url
        texts.append(response.content.decode())
    for key in selectors.TABLES:
        csv = client.get(f"/dashboard/export/{key}.csv")
        assert csv.status_code == 200
        texts.append(csv.content.decode("utf-8-sig"))
        xlsx = client.get(f"/dashboard/export/{key}.xlsx")
        assert xlsx.status_code == 200
        sheet = load_workbook(io.BytesIO(xlsx.content)).active
        texts.append(
            "\n".join(str(c) for row in sheet.iter_rows(values_only=True) for c in row if c)
        )
    return texts


def test_decision_makers_see_counts_never_names_or_notes(
    dash_client, decision_maker, sensitive_case
):
    client = dash_client(decision_maker)
    texts = _every_text(client)
    data = client.get("/dashboard/data.json").json()
    stage = {r["code"]: r["cases"] for r in data["tables"]["open_cases_by_stage"]["rows"]}
    assert stage["discovery"] == 1  # the counts are there...
    for text in texts:  # ...the person is not
        assert "小周" not in text
        assert SECRET_NOTE not in text
        assert "+8613800000002" not in text


def test_decision_makers_may_not_drill_down(dash_client, decision_maker, sensitive_case):
    client = dash_client(decision_maker)
    assert client.get("/dashboard/cases/?kind=stage&value=discovery").status_code == 403
    page = client.get("/dashboard/").content.decode()
    assert "/dashboard/cases/" not in page


def test_a_coordinator_drills_down_into_own_cases_and_it_is_audited(
    dash_client, coordinator, sensitive_case
):
    client = dash_client(coordinator)
    page = client.get("/dashboard/").content.decode()
    assert "/dashboard/cases/?kind=stage&amp;value=discovery" in page
    response = client.get("/dashboard/cases/?kind=stage&value=discovery")
    assert response.status_code == 200
    assert "小周" in response.content.decode()
    event = Event.objects.get(type="dashboard.drill_down")
    assert event.actor == coordinator
    assert event.data["cases"] == [sensitive_case.pk]
    assert event.data["kind"] == "stage"
    assert list(event.audience_rows.values_list("audience", flat=True)) == ["audit"]


def test_a_coordinator_of_another_organisation_lists_none_of_them(
    dash_client, coordinator_b, sensitive_case
):
    response = dash_client(coordinator_b).get("/dashboard/cases/?kind=risk&value=moderate")
    assert response.status_code == 200
    assert "小周" not in response.content.decode()
    assert Event.objects.get(type="dashboard.drill_down").data["cases"] == []


def test_administrators_see_everything(dash_client, administrator, sensitive_case):
    client = dash_client(administrator)
    assert client.get("/dashboard/").status_code == 200
    response = client.get("/dashboard/cases/?kind=district&value=330502")
    assert "小周" in response.content.decode()


def test_bad_filters_are_a_clear_400(dash_client, decision_maker):
    response = dash_client(decision_maker).get(
        "/dashboard/data.json?from=2026-13-01&risk=extreme&district=999999"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_filters"
    assert set(body["fields"]) == {"from", "risk", "district"}


def test_a_bad_drill_down_is_400_and_not_audited(dash_client, coordinator, sensitive_case):
    response = dash_client(coordinator).get("/dashboard/cases/?kind=names&value=x")
    assert response.status_code == 400
    assert not Event.objects.filter(type="dashboard.drill_down").exists()
