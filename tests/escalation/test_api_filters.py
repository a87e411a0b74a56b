"""The alert and dispatch lists filter by what a client needs, and say so in the schema."""

import ast
from pathlib import Path

from escalation import services
from escalation.kinds import DATA_KEYS, AlertKind
from escalation.services import AlertSpec
from hotline import services as hotline_services

ROOT = Path(__file__).resolve().parents[2]


def _raise(network, key, kind, case=None):
    alert, _ = services.raise_alert(
        AlertSpec(
            dedup_key=key,
            kind=kind,
            title=key,
            target_organisation=network["hotline"],
            target_role="coordinator",
            case=case,
        )
    )
    return alert


def _ids(client, query):
    response = client.get(f"/api/v1/alerts/?{query}")
    assert response.status_code == 200, response.content
    return [a["id"] for a in response.json()["results"]]


def test_alerts_filter_by_state_kind_and_case(client_for, network, coordinator, hotline_case):
    late = _raise(network, "referral:1:ack", "referral_overdue", case=hotline_case)
    surge = _raise(network, "surge:1", "queue_surge")
    services.acknowledge_alert(coordinator, surge)
    boss = client_for(coordinator)
    assert _ids(boss, "kind=referral_overdue") == [late.pk]
    assert _ids(boss, "kind=queue_surge") == [surge.pk]
    assert _ids(boss, "state=open") == [late.pk]
    assert _ids(boss, "state=acknowledged") == [surge.pk]
    assert _ids(boss, f"case={hotline_case.pk}") == [late.pk]
    assert _ids(boss, f"case={hotline_case.pk}&state=acknowledged") == []
    assert sorted(_ids(boss, "open=1")) == sorted([late.pk, surge.pk])


def test_bad_alert_filters_are_400_beside_the_field(client_for, coordinator):
    boss = client_for(coordinator)
    for query, field in [("kind=nonsense", "kind"), ("state=gone", "state"), ("case=x", "case")]:
        response = boss.get(f"/api/v1/alerts/?{query}")
        assert response.status_code == 400, query
        assert field in str(response.json()), response.json()


def test_dispatches_filter_by_case(client_for, operator, network, hotline_case, responders):
    other_person = hotline_services.create_person(operator, name="小钱", phone="+8613800000099")
    other_case = hotline_services.open_case(
        operator, person=other_person, owning_organisation=network["hotline"], risk="high"
    )
    mine = services.create_dispatch(operator, hotline_case, address="月河街12号")
    services.create_dispatch(operator, other_case, address="月河街13号")
    client = client_for(operator)
    rows = client.get(f"/api/v1/dispatches/?case={hotline_case.pk}").json()["results"]
    assert [d["id"] for d in rows] == [mine.pk]
    assert len(client.get("/api/v1/dispatches/").json()["results"]) == 2
    assert client.get("/api/v1/dispatches/?case=0").status_code == 400


def _schema(client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def _params(schema, path):
    return {p["name"]: p for p in schema["paths"][path]["get"]["parameters"]}


def test_the_schema_lists_every_list_filter_and_the_alert_kinds(client_for, coordinator):
    schema = _schema(client_for(coordinator))
    expected = {
        "/api/v1/alerts/": {"open", "state", "kind", "case"},
        "/api/v1/dispatches/": {"status", "case"},
        "/api/v1/admissions/": {"state"},
        "/api/v1/appointments/": {"status"},
        "/api/v1/hospital-slots/": {"hospital", "service"},
        "/api/v1/slots/": {"free"},
    }
    for path, names in expected.items():
        assert names <= set(_params(schema, path)), path
    assert set(_params(schema, "/api/v1/alerts/")["kind"]["schema"]["enum"]) == set(AlertKind)
    assert set(schema["components"]["schemas"]["AlertKindEnum"]["enum"]) == set(AlertKind)
    # The one-key request lists what a client sends, not what the server answers.
    body = schema["paths"]["/api/v1/dispatches/"]["post"]["requestBody"]["content"]
    request = body["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    fields = set(schema["components"]["schemas"][request]["properties"])
    assert "case" in fields
    assert not fields & {"id", "status", "legs", "brief", "messages", "created_at", "warnings"}


def test_every_alert_kind_raised_in_the_code_is_listed_and_documented():
    raised = set()
    for path in ROOT.glob("*/**/*.py"):
        if path.parts[len(ROOT.parts)] in {"tests", ".venv", "bench"}:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "AlertSpec":
                for kw in node.keywords:
                    if kw.arg == "kind" and isinstance(kw.value, ast.Constant):
                        raised.add(kw.value.value)
    assert raised and raised <= set(AlertKind), raised - set(AlertKind)
    assert set(DATA_KEYS) == set(AlertKind)
    doc = (ROOT / "docs" / "alerts.md").read_text()
    assert all(f"`{kind}`" in doc for kind in AlertKind)
