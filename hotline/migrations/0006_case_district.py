"""Case.district (区县): the district of the person's home region, kept on the case.

The backfill runs in batches of case ids, each in its own transaction, so a large case file is
not locked as a whole while it runs; a batch is one UPDATE per district (five in Huzhou)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models, transaction

BATCH = 50_000


def backfill(apps, schema_editor):
    Case = apps.get_model("hotline", "Case")
    Region = apps.get_model("directory", "Region")
    districts = list(Region.objects.using(schema_editor.connection.alias).filter(level="district"))
    cases = Case.objects.using(schema_editor.connection.alias)
    last = cases.order_by("-pk").values_list("pk", flat=True).first() or 0
    for start in range(0, last + 1, BATCH):
        with transaction.atomic(using=schema_editor.connection.alias):
            batch = cases.filter(pk__gte=start, pk__lt=start + BATCH)
            for district in districts:
                batch.filter(person__home_region__path__startswith=district.path).update(
                    district=district
                )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("directory", "0001_initial"),
        ("hotline", "0005_open_risk_dashboard_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="case",
            name="district",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="directory.region",
                verbose_name="district/county",
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
        migrations.RemoveIndex(model_name="case", name="case_open_dashboard"),
        migrations.RemoveIndex(model_name="case", name="case_open_risk_dashboard"),
        migrations.AddIndex(
            model_name="case",
            index=models.Index(
                condition=models.Q(("stage", "closed"), _negated=True),
                fields=["stage", "risk", "owning_organisation", "district"],
                name="case_open_figures",
            ),
        ),
        migrations.AddIndex(
            model_name="case",
            index=models.Index(
                condition=models.Q(("stage", "closed"), _negated=True),
                fields=["risk", "opened_at", "id", "district", "owning_organisation"],
                name="case_open_risk_figures",
            ),
        ),
    ]
