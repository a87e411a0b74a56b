from datetime import date

from django.core.management.base import BaseCommand, CommandError

from dashboard import rollup


class Command(BaseCommand):
    help = (
        "Count the closed days into the dashboard's daily rollup (from the day after the last "
        "refresh through yesterday); --rebuild counts every day again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--rebuild", action="store_true", help="drop and recount everything")
        parser.add_argument("--since", help="recount from this local day (YYYY-MM-DD)")

    def handle(self, *args, rebuild=False, since=None, **options):
        if rebuild and since:
            raise CommandError("Use --rebuild or --since, not both.")
        try:
            start = date.fromisoformat(since) if since else None
        except ValueError as exc:
            raise CommandError("--since takes a date as YYYY-MM-DD.") from exc
        written = rollup.rebuild() if rebuild else rollup.refresh(since=start)
        self.stdout.write(f"{written} rollup rows written; complete through {rollup.mark()}")
