"""The open-case tally, kept by triggers on the case table that ``migrate`` used to create
(removed in 0007). Migrating back drops any left over first: they would otherwise write into a
table that is gone."""

from django.db import migrations, models

TRIGGER = "dashboard_open_case_tally"


def drop_triggers(apps, schema_editor):
    """Drop the tally's triggers (and on PostgreSQL their function) where they are."""
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
        ("dashboard", "0003_covering_index"),
        ("hotline", "0007_open_item_indexes"),
    ]

    operations = [
        migrations.CreateModel(
            name="OpenCaseTally",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("stage", models.CharField(max_length=20)),
                ("risk", models.CharField(max_length=10)),
                ("organisation", models.IntegerField()),
                ("district", models.IntegerField(default=0)),
                ("n", models.IntegerField()),
            ],
        ),
        migrations.RunPython(migrations.RunPython.noop, drop_triggers),
    ]
