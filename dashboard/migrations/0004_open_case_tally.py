"""The open-case tally and the triggers that keep it (see ``dashboard.models.OpenCaseTally``
and ``dashboard.tally``), filled in the same transaction."""

from django.db import migrations, models


def install(apps, schema_editor):
    from dashboard import tally

    tally.install(schema_editor.connection)


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
        migrations.RunPython(install, uninstall),
    ]
