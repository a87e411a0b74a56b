from django.apps import AppConfig
from django.core import checks


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "core"

    def ready(self):
        from core.checks import check_secret_key

        checks.register(check_secret_key, checks.Tags.security)
