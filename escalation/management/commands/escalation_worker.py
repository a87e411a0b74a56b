"""The timer worker for production: fires due deadlines, polls alert sources, writes heartbeats."""

import signal
import threading

from django.core.management.base import BaseCommand

from escalation import worker


class Command(BaseCommand):
    help = "Run the escalation timer worker (several may run at once)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--max-seconds", type=float, default=None, help="Stop after this long (benchmarks)."
        )

    def handle(self, *args, max_seconds=None, **options):
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        self.stdout.write(f"escalation worker {worker.worker_name()} running")
        worker.loop(stop=stop, max_seconds=max_seconds)
