from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from core.health import register_readiness_check


class EscalationConfig(AppConfig):
    name = "escalation"
    verbose_name = _("Dispatch and escalation")

    def ready(self):
        # Imported late: Django imports apps.py before any model exists.
        from escalation import receivers, selectors, worker
        from hotline.caseplan import register_item_source
        from hotline.closing import register_close_check

        register_close_check(receivers.open_dispatches_block_closing)
        register_item_source(selectors.case_items)
        register_readiness_check("escalation_worker", worker.heartbeat_problem)

        # Retention (issue 15): the worker anonymises people past CASE_RETENTION_DAYS, and a
        # dispatch's address and notes go with the person's identity.
        from escalation.retention import anonymise_dispatches
        from escalation.sources import register_periodic_job
        from hotline.services import retention

        retention.register_anonymiser(anonymise_dispatches)
        register_periodic_job("retention_anonymise", retention.worker_hook)
