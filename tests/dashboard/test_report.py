"""The monthly report (月报): this month by default, the dashboard's filters kept, a bad month in
words beside the field."""

from datetime import date

from django.utils import timezone

from dashboard import rollup
from tests.conftest import sign_in


def _chinese(client, user):
    sign_in(client, user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    return client


def test_it_defaults_to_this_month_so_far(client, decision_maker):
    today = rollup.local_day(timezone.now())
    response = _chinese(client, decision_maker).get("/dashboard/report/")
    assert response.status_code == 200
    assert response.context["month"] == today.replace(day=1)
    filters = response.context["filters"]
    assert (filters.date_from, filters.date_to) == (today.replace(day=1), today)
    assert f'value="{today:%Y-%m}"' in response.content.decode()


def test_it_takes_the_dashboards_dates_and_district(client, decision_maker, network):
    response = _chinese(client, decision_maker).get(
        "/dashboard/report/", {"from": "2025-03-10", "to": "2025-03-20", "district": "330521"}
    )
    assert response.status_code == 200
    assert response.context["month"] == date(2025, 3, 1)
    filters = response.context["filters"]
    assert (filters.date_from, filters.date_to) == (date(2025, 3, 10), date(2025, 3, 20))
    assert filters.district == network["deqing"]
    body = response.content.decode()
    assert "德清县" in body
    # Changing the month on the report keeps the district (its dates become the month's).
    assert '<input type="hidden" name="district" value="330521">' in body
    assert 'name="from"' not in body


def test_a_dashboard_spanning_months_reports_the_month_it_ends_in(client, decision_maker):
    response = _chinese(client, decision_maker).get(
        "/dashboard/report/", {"from": "2024-11-15", "to": "2025-02-10"}
    )
    filters = response.context["filters"]
    assert (filters.date_from, filters.date_to) == (date(2025, 2, 1), date(2025, 2, 10))


def test_a_chosen_month_wins_over_the_dashboards_dates(client, decision_maker):
    response = _chinese(client, decision_maker).get(
        "/dashboard/report/", {"month": "2025-01", "from": "2025-03-10", "to": "2025-03-20"}
    )
    filters = response.context["filters"]
    assert (filters.date_from, filters.date_to) == (date(2025, 1, 1), date(2025, 1, 31))


def test_a_bad_month_is_a_form_error_in_words_not_json(client, decision_maker):
    response = _chinese(client, decision_maker).get("/dashboard/report/", {"month": "2025-13"})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    body = response.content.decode()
    assert "\\u" not in body and '"detail"' not in body
    assert 'id="month-error"' in body
    assert "请按 YYYY-MM 格式输入月份，例如 2026-03。" in body
    assert 'aria-invalid="true"' in body
    assert 'value="2025-13"' in body  # what was typed stays to be corrected
    assert response.context["tables"] == {}


def test_a_bad_district_from_the_dashboard_is_named_in_words(client, decision_maker, network):
    response = _chinese(client, decision_maker).get("/dashboard/report/", {"district": "999"})
    assert response.status_code == 400
    assert "没有这个区县。" in response.content.decode()
