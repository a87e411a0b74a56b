"""All-in-one server for the embedded default: Daphne (HTTP + WebSocket) + the timer worker."""

import asyncio
import sys
import threading

from channels.routing import get_default_application
from daphne.endpoints import build_endpoint_description_strings
from daphne.server import Server
from django.conf import settings
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from core.access_log import PathOnlyAccessLog


class Command(BaseCommand):
    help = "Serve the app with Daphne (HTTP and WebSocket) on the given host and port."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--proxy-headers",
            action="store_true",
            help="Trust X-Forwarded-For/-Port/-Proto from a reverse proxy in front of Daphne.",
        )

    def handle(self, *args, host, port, proxy_headers, **options):
        self.collect_static_if_missing()
        stop = threading.Event()
        started = []

        def start_worker():
            # Daphne calls this on its main thread with its event loop set, just before running it.
            from escalation import worker

            event_loop = asyncio.get_event_loop()
            started.append((event_loop, worker.start_in_process(event_loop, stop)))
            self.stdout.write("Escalation worker running in-process")

        # Built as Daphne's command line and Channels' runserver build it.
        server = Server(
            application=get_default_application(),
            endpoints=build_endpoint_description_strings(host=host, port=port),
            action_logger=PathOnlyAccessLog(sys.stdout),  # no query strings in the log
            proxy_forwarded_address_header="X-Forwarded-For" if proxy_headers else None,
            proxy_forwarded_port_header="X-Forwarded-Port" if proxy_headers else None,
            proxy_forwarded_proto_header="X-Forwarded-Proto" if proxy_headers else None,
            ready_callable=start_worker if settings.ESCALATION_WORKER_IN_PROCESS else None,
        )
        self.stdout.write(f"Serving on http://{host}:{port}/ (Ctrl+C to stop)")
        self.stdout.flush()
        server.run()
        stop.set()
        for event_loop, task in started:
            # The worker finishes its step; what it publishes is sent on this loop, so run it.
            event_loop.run_until_complete(task)
        if server.abort_start:
            raise CommandError(f"Daphne could not start on {host}:{port}.")

    def collect_static_if_missing(self) -> None:
        """A fresh checkout has no manifest, and the manifest storage answers 500 without one."""
        manifest = getattr(staticfiles_storage, "manifest_name", None)
        if manifest and not staticfiles_storage.exists(manifest):
            self.stdout.write(f"Collecting static files into {settings.STATIC_ROOT} (first run)")
            call_command("collectstatic", interactive=False, verbosity=0)
