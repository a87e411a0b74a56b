from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo seeder: it knows every app, so it sits above them all (installed last)."""

    name = "demo"
    verbose_name = "demo"
