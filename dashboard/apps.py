from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"

    def ready(self):
        from dashboard import rollup
        from escalation.sources import register_periodic_job

        # The escalation worker already wakes every ESCALATION_SOURCES_POLL seconds; riding on
        # it keeps the rollup fresh without another process.
        register_periodic_job("dashboard_rollup", rollup.worker_hook)
