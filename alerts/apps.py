"""App config."""

from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts and jobs"
    default_auto_field = "django.db.models.BigAutoField"
