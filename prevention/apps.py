from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PreventionConfig(AppConfig):
    name = "prevention"
    verbose_name = _("Prevention (screening and outreach)")

    def ready(self):
        # Imported late: Django imports apps.py before any model exists.
        from escalation.sources import register_alert_source, register_periodic_job
        from hotline.caseplan import register_item_source
        from prevention import alerts, retention
        from prevention.selectors import case_items

        register_alert_source(
            "screening_task_overdue",
            alerts.overdue_tasks,
            kind=alerts.OVERDUE_KIND,
            cleared=alerts.task_taken,
        )
        register_periodic_job("screening_retention", retention.worker_hook)
        register_item_source(case_items)
