"""Anonymise people whose cases all closed longer than CASE_RETENTION_DAYS ago (PIPL retention).

The escalation worker runs one batch every RETENTION_EVERY_SECONDS; this command runs every batch
now (e.g. from cron, or once after lowering the period), and removes call recordings past
RECORDING_RETENTION_DAYS."""

from django.core.management.base import BaseCommand
from django.utils import timezone

from hotline.services.recording import remove_expired_recordings
from hotline.services.retention import anonymise_expired


class Command(BaseCommand):
    help = "Anonymise people past the retention period (name, phone, notes); each one is audited."

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=None, help="people per transaction batch")

    def handle(self, *args, batch=None, **options):
        now = timezone.now()
        total = 0
        while done := anonymise_expired(now, batch=batch):
            total += done
        self.stdout.write(f"anonymised {total} people")
        removed = 0
        while done := remove_expired_recordings(now, batch=batch):
            removed += done
        self.stdout.write(f"removed {removed} call recordings")
