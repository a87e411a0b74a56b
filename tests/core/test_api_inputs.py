"""Bad input to the REST API is a 4xx with field errors and changes nothing; never a 5xx.

The values schemathesis found (issue 14) and more: ints past a bigint, NUL bytes, wrong types,
unknown choices, ids that are not numbers, over-long text. Run on PostgreSQL too, where a NUL
byte or an out-of-range integer reaches the database as an error.
"""

import pytest

from clinics.models import FollowUp
from escalation.models import Alert, Dispatch
from hotline.models import Call, Case, Person
from realtime.audit import READ
from realtime.models import Event
from referrals.models import Referral

HUGE = "99999999999999999999"

# (method, path, body or None, expected status, the field the error names or None)
BAD_QUERIES = [
    ("get", "/api/v1/cases/?stage=a%00b", None, 400, "stage"),
    # A year no one here means (schemathesis found it: rendered back in local mean time,
    # +08:05:43, which is no valid RFC 3339 answer).
    (
        "post",
        "/api/v1/cases/{case}/next-step/",
        {"next_step": "回电", "due": "1534-09-23T23:07:58-02:25"},
        400,
        "due",
    ),
    ("get", "/api/v1/cases/?stage=nowhere", None, 400, "stage"),
    ("get", "/api/v1/cases/?risk=%00", None, 400, "risk"),
    ("get", "/api/v1/referrals/?case=true", None, 400, "case"),
    ("get", f"/api/v1/referrals/?case={HUGE}", None, 400, "case"),
    ("get", "/api/v1/referrals/?case=-1", None, 400, "case"),
    ("get", "/api/v1/referrals/?direction=sideways", None, 400, "direction"),
    ("get", "/api/v1/referrals/?state=a%00b", None, 400, "state"),
    ("get", "/api/v1/follow-ups/?case=abc", None, 400, "case"),
    ("get", "/api/v1/follow-ups/?state=%00", None, 400, "state"),
    ("get", "/api/v1/hospital-slots/?hospital=abc", None, 400, "hospital"),
    ("get", f"/api/v1/hospital-slots/?hospital={HUGE}", None, 400, "hospital"),
    ("get", "/api/v1/regions/?parent=%00", None, 400, "parent"),
    ("get", "/api/v1/regions/?within=nowhere", None, 400, "within"),
    ("get", "/api/v1/regions/?level=%00", None, 400, "level"),
    ("get", "/api/v1/organisations/?region=x%00", None, 400, "region"),
    ("get", "/api/v1/organisations/?kind=x", None, 400, "kind"),
    ("get", "/api/v1/dispatches/?status=a%00b", None, 400, "status"),
    ("get", "/api/v1/admissions/?state=x", None, 400, "state"),
    ("get", "/api/v1/appointments/?status=x", None, 400, "status"),
    ("get", "/api/v1/calls/?view=%00", None, 400, "view"),
    # limit and offset past what the database holds: clamped, an ordinary page.
    ("get", f"/api/v1/cases/?limit={HUGE}", None, 200, None),
    ("get", f"/api/v1/cases/?offset={HUGE}", None, 200, None),
    ("get", "/api/v1/alerts/?limit=-5&offset=abc", None, 200, None),
]

BAD_PATHS = [
    ("post", "/api/v1/alerts/abc/acknowledge/", {}, 404, None),
    ("post", f"/api/v1/alerts/{HUGE}/acknowledge/", {}, 404, None),
    ("post", "/api/v1/dispatch-legs/abc/acknowledge/", {}, 404, None),
    ("post", f"/api/v1/dispatch-legs/{HUGE}/progress/", {"state": "done"}, 404, None),
    ("get", "/api/v1/cases/abc/", None, 404, None),
    ("get", f"/api/v1/cases/{HUGE}/", None, 404, None),
    ("get", "/api/v1/cases/%D9%A1/", None, 404, None),  # an Arabic-Indic digit one
    ("get", "/api/v1/referrals/null,null/", None, 404, None),
    ("get", f"/api/v1/follow-ups/{HUGE}/", None, 404, None),
]

BAD_BODIES = [
    ("post", "/api/v1/cases/{case}/next-step/", {"next_step": "a\x00b"}, 400, "next_step"),
    ("post", "/api/v1/cases/{case}/next-step/", {"next_step": "x" * 201}, 400, "next_step"),
    ("post", "/api/v1/cases/{case}/close/", {"reason": "\x00"}, 400, "reason"),
    ("post", "/api/v1/people/", {"name": "小\x00周"}, 400, "name"),
    ("post", "/api/v1/people/", {"name": "x" * 5000}, 400, "name"),
    ("post", "/api/v1/calls/", {"channel": "walk_in", "notes": "\x00"}, 400, "notes"),
    ("post", "/api/v1/dispatches/", {"case": HUGE}, 400, "case"),
    ("post", "/api/v1/dispatches/", {"case": "{case}", "notes": "\x00"}, 400, "notes"),
    ("post", "/api/v1/follow-ups/", {"case": HUGE, "due_at": "2030-01-01T00:00"}, 400, "case"),
    ("post", "/api/v1/referrals/", {"case": True, "kind": "counselling"}, 400, "case"),
]


def _snapshot():
    return [
        Event.objects.exclude(type=READ).count(),  # a read is on the audit trail, changes nothing
        *(m.objects.count() for m in (Person, Case, Call, Referral, FollowUp, Dispatch, Alert)),
    ]


@pytest.mark.parametrize(
    ("method", "path", "body", "expected", "field"), BAD_QUERIES + BAD_PATHS + BAD_BODIES
)
def test_bad_input_is_a_4xx_with_field_errors_and_changes_nothing(
    client_for, coordinator, operator, hotline_case, method, path, body, expected, field
):
    user = coordinator if "/alerts/" in path or "/dispatch" in path else operator
    api = client_for(user)
    path = path.replace("{case}", str(hotline_case.pk))
    if isinstance(body, dict):
        body = {k: (str(hotline_case.pk) if v == "{case}" else v) for k, v in body.items()}
    before = _snapshot()
    send = getattr(api, method)
    response = send(path, body, format="json") if body else send(path)
    assert response.status_code == expected, (path, response.status_code, response.content[:300])
    if field:
        assert field in response.json()["fields"], response.json()
    assert _snapshot() == before


def test_the_schema_documents_filters_and_error_answers(client_for, operator):
    schema = client_for(operator).get("/api/schema/?format=json").json()
    follow_ups = schema["paths"]["/api/v1/follow-ups/"]["get"]
    params = {p["name"]: p["schema"] for p in follow_ups["parameters"]}
    assert params["case"]["type"] == "integer" and params["case"]["maximum"] == 2**63 - 1
    assert "scheduled" in params["state"]["enum"]
    assert {"200", "400", "401", "403"} <= set(follow_ups["responses"])
    acknowledge = schema["paths"]["/api/v1/alerts/{id}/acknowledge/"]["post"]
    assert {"200", "400", "401", "403", "404", "409"} <= set(acknowledge["responses"])
