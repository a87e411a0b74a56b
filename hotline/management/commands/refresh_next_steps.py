"""Compute the owner and next step of every open case (after upgrading to computed steps)."""

from django.core.management.base import BaseCommand
from django.db import transaction

from hotline.caseplan import refresh_next_step
from hotline.models import Case


class Command(BaseCommand):
    help = "Backfill the computed next step and responsible role of every open case."

    def handle(self, *args, **options):
        changed = 0
        for pk in Case.objects.open().order_by("pk").values_list("pk", flat=True).iterator():
            with transaction.atomic():
                changed += refresh_next_step(Case(pk=pk))
        self.stdout.write(f"{changed} open case(s) updated")
