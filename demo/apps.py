"""The demo app: `manage.py seed_demo`, the data `make run` loads so a newcomer sees every feature."""

from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "demo"
    verbose_name = "Demo data"
