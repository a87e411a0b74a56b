from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _install_tally(sender, using, apps=None, **kwargs):
    """After every migrate: SQLite drops a table's triggers when a migration rebuilds it."""
    from django.db import connections

    from dashboard import tally

    try:
        if apps is not None:
            apps.get_model("dashboard", "OpenCaseTally")
    except LookupError:  # migrated back before the tally
        return
    tally.install(connections[using])


class DashboardConfig(AppConfig):
    name = "dashboard"

    def ready(self):
        from dashboard import rollup
        from escalation.sources import register_periodic_job

        # The escalation worker already wakes every ESCALATION_SOURCES_POLL seconds; riding on
        # it keeps the rollup fresh without another process.
        register_periodic_job("dashboard_rollup", rollup.worker_hook)
        post_migrate.connect(_install_tally, sender=self, dispatch_uid="dashboard_install_tally")
