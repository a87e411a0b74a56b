"""The open-case tally goes: the open-case figures are a GROUP BY over the open cases' partial
index (``case_open_figures``). Its triggers go first, so no write of a case touches the table
on its way out. Going back recreates the table only: nothing keeps it any more."""

from django.db import migrations

TRIGGER = "dashboard_open_case_tally"


def drop_triggers(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        statements = [
            f"DROP TRIGGER IF EXISTS {TRIGGER} ON hotline_case",
            f"DROP FUNCTION IF EXISTS {TRIGGER}()",
        ]
    elif connection.vendor == "sqlite":
        statements = [
            f"DROP TRIGGER IF EXISTS {TRIGGER}_{event}" for event in ("insert", "delete", "update")
        ]
    else:
        statements = []
    with connection.cursor() as cur:
        for sql in statements:
            cur.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("dashboard", "0006_month_to_date"),
    ]

    operations = [
        migrations.RunPython(drop_triggers, migrations.RunPython.noop),
        migrations.DeleteModel(name="OpenCaseTally"),
    ]
