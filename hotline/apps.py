from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HotlineConfig(AppConfig):
    name = "hotline"
    verbose_name = _("Hotline and case file")

    def ready(self):
        # Imported late: Django imports apps.py before any model exists.
        from hotline.caseplan import register_item_source
        from hotline.services import overflow  # noqa: F401  (its disposition_made receiver)
        from hotline.services.callbacks import case_items

        register_item_source(case_items)
