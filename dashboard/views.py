"""The one-screen view (一屏总览): page, JSON for live refresh, exports, monthly report, and the
coordinators' drill-down. Decision makers get counts only; every drill-down is audited."""

from datetime import date

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, renderer_classes
from rest_framework.renderers import JSONRenderer

from core.errors import Invalid
from dashboard import exports, rollup, selectors, services
from directory.models import Organisation, Role
from hotline.models import Risk

DRILL_DOWN_LIMIT = 200


def _reader(request) -> str:
    role = selectors.dashboard_role(request.user)
    if role is None:
        raise PermissionDenied(_("The one-screen view is for decision makers and coordinators."))
    return role


def _error(exc: Invalid) -> JsonResponse:
    return JsonResponse(
        {"detail": exc.message, "code": exc.code, "fields": exc.fields}, status=exc.status_code
    )


def _data(tables: dict) -> dict:
    return {key: table.as_dict() for key, table in tables.items()}


def _context(request, role: str, filters: selectors.Filters, tables: dict) -> dict:
    query = urlencode(filters.query())
    return {
        "page_title": _("One-screen view"),
        "role": role,
        "can_drill_down": role != Role.DECISION_MAKER,
        "filters": filters,
        "query": query,
        "tables": tables,
        "districts": selectors.districts(),
        "organisations": Organisation.objects.filter(is_active=True).order_by("kind", "name"),
        "risks": Risk.choices,
        "poll_seconds": settings.DASHBOARD_POLL_SECONDS,
        "rollup_through": rollup.mark(),
        "data_url": reverse("dashboard:data") + "?" + query,
    }


@login_required
def home(request):
    role = _reader(request)
    try:
        filters = selectors.parse_filters(request.GET)
    except Invalid as exc:
        filters = selectors.parse_filters({})
        return render(
            request,
            "dashboard/home.html",
            {**_context(request, role, filters, selectors.dashboard(filters)), "error": exc},
            status=400,
        )
    tables = selectors.dashboard(filters)
    return render(request, "dashboard/home.html", _context(request, role, filters, tables))


@extend_schema(
    tags=["dashboard"],
    responses={200: OpenApiTypes.OBJECT},
    description="Every table of the one-screen view (一屏总览), counts only for decision makers.",
)
@api_view(["GET"])
@renderer_classes([JSONRenderer])
def data(request):
    """Every table as JSON: what the page re-reads on events and every poll. Also for clients
    outside the browser: the API's authentication (a knox token, ``Authorization: Token ...``, or
    the page's session); no credentials is 401, another role 403."""
    try:
        role = _reader(request)
    except PermissionDenied:
        return JsonResponse({"detail": _("Not allowed."), "code": "forbidden"}, status=403)
    try:
        filters = selectors.parse_filters(request.GET)
    except Invalid as exc:
        return _error(exc)
    now = timezone.now()
    return JsonResponse(
        {
            "at": now.isoformat(),
            "role": role,
            "filters": filters.query(),
            "tables": _data(selectors.dashboard(filters, now)),
        }
    )


@login_required
def export(request, key: str, fmt: str):
    """One table as CSV or Excel, for the filters in the URL."""
    try:
        _reader(request)
    except PermissionDenied:
        return JsonResponse({"detail": _("Not allowed."), "code": "forbidden"}, status=403)
    fn = selectors.TABLES.get(key)
    if fn is None:
        raise Http404("No such table.")
    try:
        filters = selectors.parse_filters(request.GET)
    except Invalid as exc:
        return _error(exc)
    table = fn(filters, timezone.now())
    stem = f"{key}-{filters.date_from:%Y%m%d}-{filters.date_to:%Y%m%d}"
    if fmt == "csv":
        response = HttpResponse(exports.as_csv(table, filters), content_type="text/csv")
    else:
        response = HttpResponse(
            exports.as_xlsx(table, filters),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    response["Content-Disposition"] = f'attachment; filename="{stem}.{fmt}"'
    return response


REPORT_TABLES = (
    "weekly_trends",
    "open_cases_by_stage",
    "open_cases_by_district",
    "time_in_stage",
    "overdue_referrals",
    "follow_ups",
    "responsibilities",
    "repeat_callers",
    "call_pattern",
)
# The dashboard's filters a report keeps when its month is changed (its dates are the month's).
REPORT_KEPT = ("district", "organisation", "risk", "no_contact_days")


def _report_period(params, today: date) -> tuple[date, date, date]:
    """The report's month and period: ``?month=YYYY-MM``, else the month of the dashboard's end
    date (``to``) within the dashboard's dates, else this month so far."""
    raw = (params.get("month") or "").strip()
    if raw:
        try:
            month = date.fromisoformat(raw + "-01")
        except ValueError as exc:
            raise Invalid(
                _("Some filters are not valid."),
                code="invalid_filters",
                fields={"month": [_("Enter a month as YYYY-MM, e.g. 2026-03.")]},
            ) from exc
        return month, month, min(rollup.month_end(month), today)
    dashboard = selectors.parse_filters(params)  # the dashboard's own dates, checked as it does
    if params.get("to") or params.get("from"):
        month = dashboard.date_to.replace(day=1)
        start = max(month, dashboard.date_from)
        return month, start, min(rollup.month_end(month), dashboard.date_to, today)
    month = today.replace(day=1)
    return month, month, today


@login_required
def report(request):
    """The monthly report (月报): the period tables for one calendar month, made for printing."""
    role = _reader(request)
    now = timezone.now()
    today = rollup.local_day(now)
    try:
        month, start, end = _report_period(request.GET, today)
        params = {**request.GET.dict(), "from": start.isoformat(), "to": end.isoformat()}
        filters = selectors.parse_filters(params)
    except Invalid as exc:
        # The page again with the error beside the field; nothing is read for a bad filter.
        month = today.replace(day=1)
        return render(
            request,
            "dashboard/report.html",
            {
                "page_title": _("Monthly report"),
                "role": role,
                "month": month,
                "month_value": request.GET.get("month", ""),
                "filters": selectors.parse_filters({"from": month.isoformat()}),
                "kept": [],
                "tables": {},
                "generated_at": now,
                "error": exc,
            },
            status=400,
        )
    tables = {key: selectors.TABLES[key](filters, now) for key in REPORT_TABLES}
    query = filters.query()
    return render(
        request,
        "dashboard/report.html",
        {
            "page_title": _("Monthly report"),
            "role": role,
            "month": month,
            "month_value": f"{month:%Y-%m}",
            "filters": filters,
            "kept": [(name, query[name]) for name in REPORT_KEPT if name in query],
            "tables": tables,
            "generated_at": now,
        },
    )


@login_required
def cases(request):
    """Drill-down (钻取): the cases behind a figure, for coordinators (their own organisations)
    and administrators. Each one goes on the audit trail."""
    role = _reader(request)
    if role == Role.DECISION_MAKER:
        raise PermissionDenied(_("Decision makers see counts only."))
    now = timezone.now()
    kind, value = request.GET.get("kind", ""), request.GET.get("value", "")
    try:
        filters = selectors.parse_filters(request.GET, now)
        found = list(
            selectors.drill_down_cases(request.user, filters, kind, value, now)[
                : DRILL_DOWN_LIMIT + 1
            ]
        )
    except Invalid as exc:
        # The page again with the reason in words (a person followed a link here), read nothing.
        return render(
            request,
            "dashboard/cases.html",
            {
                "page_title": _("Cases behind the figure"),
                "error": exc,
                "back": reverse("dashboard:home"),
            },
            status=400,
        )
    shown = found[:DRILL_DOWN_LIMIT]
    services.record_drill_down(
        request.user,
        kind=kind,
        value=value,
        filters=filters.query(),
        case_ids=[c.pk for c in shown],
    )
    return render(
        request,
        "dashboard/cases.html",
        {
            "page_title": _("Cases behind the figure"),
            "kind": kind,
            "value": value,
            "cases": shown,
            "more": len(found) > DRILL_DOWN_LIMIT,
            "back": reverse("dashboard:home") + "?" + urlencode(filters.query()),
        },
    )
