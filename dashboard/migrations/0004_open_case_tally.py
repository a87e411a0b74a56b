"""The open-case tally (``dashboard.models.OpenCaseTally``).

Its triggers are created, and the tally counted, after every ``migrate`` (``dashboard.apps``),
against the schema as migrated then rather than as it was here. Migrating back drops them
first: they would otherwise write into a table that is gone."""

from django.db import migrations, models


def uninstall(apps, schema_editor):
    from dashboard import tally

    tally.uninstall(schema_editor.connection)


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
        migrations.RunPython(migrations.RunPython.noop, uninstall),
    ]
