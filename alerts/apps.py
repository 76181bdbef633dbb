"""App config."""

from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts and jobs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from ledger.activity import activity_sources

        from .activity import AccountThresholdSource, AlertSettingsSource

        for source in (AlertSettingsSource(), AccountThresholdSource()):  # on the org activity timeline
            activity_sources.register(source)
