"""Fuzzy search of people by name and alias on PostgreSQL: the pg_trgm extension and trigram
indexes. Both are PostgreSQL only (``TrigramExtension`` does nothing elsewhere; SQLite searches
with ``icontains``). The indexes are on ``UPPER(...)`` too, as Django's ``icontains`` asks for."""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

COLUMNS = ("name", "alias")


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS hotline_person_{column}_trgm "
            f"ON hotline_person USING gin ({column} gin_trgm_ops)"
        )
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS hotline_person_{column}_upper_trgm "
            f"ON hotline_person USING gin (UPPER({column}) gin_trgm_ops)"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS hotline_person_{column}_trgm")
        schema_editor.execute(f"DROP INDEX IF EXISTS hotline_person_{column}_upper_trgm")


class Migration(migrations.Migration):
    dependencies = [("hotline", "0014_person_profile")]

    operations = [
        TrigramExtension(),
        migrations.RunPython(create_indexes, drop_indexes),
    ]
