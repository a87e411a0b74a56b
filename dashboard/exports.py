"""CSV and Excel (openpyxl) copies of any dashboard table, with the filters written on top."""

import csv
import io

from django.utils import timezone
from django.utils.translation import gettext as _

from dashboard.selectors import Filters, Table


def _heading(table: Table, filters: Filters) -> list[list[str]]:
    described = ", ".join(f"{k}={v}" for k, v in filters.query().items())
    return [
        [str(table.title)],
        [_("Filters"), described],
        [_("Exported at"), timezone.localtime().strftime("%Y-%m-%d %H:%M")],
        [],
    ]


def _body(table: Table) -> list[list]:
    keys = [k for k, _label in table.columns]
    return [[str(label) for _k, label in table.columns]] + [
        ["" if row.get(k) is None else row.get(k) for k in keys] for row in table.rows
    ]


def as_csv(table: Table, filters: Filters) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerows(_heading(table, filters) + _body(table))
    # A BOM so that Excel opens the Chinese labels as UTF-8.
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def as_xlsx(table: Table, filters: Filters) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = table.key[:31]
    heading = _heading(table, filters)
    for line in heading:
        sheet.append(line)
    sheet.cell(row=1, column=1).font = Font(bold=True, size=13)
    body = _body(table)
    for line in body:
        sheet.append(line)
    for cell in sheet[len(heading) + 1]:
        cell.font = Font(bold=True)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
