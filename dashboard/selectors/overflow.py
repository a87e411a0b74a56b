"""Overflow between hotline centres (来电溢出), per centre: calls sent to the partner and taken
for a partner, today and in the period (from the calls themselves: few rows)."""

from datetime import datetime, timedelta

from django.db.models import Count, Q
from django.utils.translation import gettext as _

from dashboard import rollup
from dashboard.selectors.common import Filters, Table
from directory.models import Organisation, OrganisationKind


def overflow_by_centre(f: Filters, now: datetime) -> Table:
    from hotline.models import Call

    start = rollup.day_start(f.date_from)
    end = rollup.day_start(f.date_to + timedelta(days=1))
    today = rollup.day_start(rollup.local_day(now))
    moved = Call.objects.filter(answering_centre__isnull=False)
    centres = Organisation.objects.filter(kind=OrganisationKind.HOTLINE_CENTRE, is_active=True)
    if f.organisation:
        centres = centres.filter(pk=f.organisation.pk)

    def counts(field: str) -> dict:
        rows = moved.values(field).annotate(
            today=Count("pk", filter=Q(overflowed_at__gte=today)),
            period=Count("pk", filter=Q(overflowed_at__gte=start, overflowed_at__lt=end)),
        )
        return {r[field]: r for r in rows.order_by()}

    sent, received = counts("hotline"), counts("answering_centre")
    rows = []
    for centre in centres.order_by("name"):
        out, came = sent.get(centre.pk, {}), received.get(centre.pk, {})
        rows.append(
            {
                "centre": centre.name,
                "code": centre.code,
                "sent_today": out.get("today", 0),
                "received_today": came.get("today", 0),
                "sent_period": out.get("period", 0),
                "received_period": came.get("period", 0),
            }
        )
    return Table(
        "overflow_by_centre",
        _("Overflow calls by centre"),
        [
            ("centre", _("Hotline centre")),
            ("sent_today", _("Sent to the partner today")),
            ("received_today", _("Taken for a partner today")),
            ("sent_period", _("Sent in the period")),
            ("received_period", _("Taken in the period")),
        ],
        rows,
    )
