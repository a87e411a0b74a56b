from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"

    def ready(self):
        from dashboard import rollup
        from escalation.sources import register_alert_source

        # The escalation worker already polls every ESCALATION_SOURCES_POLL seconds; riding on
        # it keeps the rollup fresh without another process. It raises no alerts.
        register_alert_source("dashboard_rollup", rollup.worker_hook)
