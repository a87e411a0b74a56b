"""One person per phone number (the first half of 一人一例, enforced by the database).

Existing duplicates are not merged (their cases, calls and referrals stay where they are): the
newest person with a number keeps it, as intake already chose the newest, and each older one
has the number cleared and recorded in its notes, naming the person who kept it, so a case
worker can merge the records by hand.
"""

from django.db import migrations, models
from django.db.models import Count


def release_duplicate_numbers(apps, schema_editor):
    Person = apps.get_model("hotline", "Person")
    duplicated = (
        Person.objects.exclude(phone="")
        .values("phone")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .values_list("phone", flat=True)
    )
    for phone in list(duplicated):
        keeper, *older = Person.objects.filter(phone=phone).order_by("-pk")
        for person in older:
            note = f"[号码去重] 原电话 {phone} 已归 #{keeper.pk}，请核对是否同一人并合并。"
            person.notes = (person.notes + "\n" + note).strip()
            person.phone = ""
            person.save(update_fields=["phone", "notes"])


class Migration(migrations.Migration):
    dependencies = [
        ("directory", "0002_region_pinyin_initials"),
        ("hotline", "0010_encrypt_notes_and_retention_mark"),
    ]

    operations = [
        migrations.RunPython(release_duplicate_numbers, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="person",
            constraint=models.UniqueConstraint(
                condition=models.Q(("phone", ""), _negated=True),
                fields=("phone",),
                name="one_person_per_phone",
                violation_error_code="phone_taken",
                violation_error_message="A person with this phone number is already on file.",
            ),
        ),
    ]
