"""All-in-one server for the embedded default: Daphne (HTTP + WebSocket) + the timer worker."""

from daphne.cli import CommandLineInterface
from daphne.server import twisted_loop
from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve the app with Daphne (HTTP and WebSocket) on the given host and port."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--proxy-headers",
            action="store_true",
            help="Trust X-Forwarded-For/-Proto from a reverse proxy in front of Daphne.",
        )

    def handle(self, *args, host, port, proxy_headers, **options):
        argv = ["-b", host, "-p", str(port)]
        if proxy_headers:
            argv.append("--proxy-headers")
        if settings.ESCALATION_WORKER_IN_PROCESS:
            from escalation import worker

            # A daemon thread: it dies with Daphne; timers live in the database, so none is lost.
            worker.start_in_process()
            self.stdout.write("Escalation worker running in-process")
        # Daphne's loop was made when the apps loaded (REALTIME_UVLOOP in settings chose it).
        loop = type(twisted_loop)
        self.stdout.write(f"Event loop: {loop.__module__}.{loop.__qualname__}")
        self.stdout.write(f"Serving on http://{host}:{port}/ (Ctrl+C to stop)")
        self.stdout.flush()
        CommandLineInterface().run([*argv, "config.asgi:application"])
