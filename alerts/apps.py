"""App config: connects the email provider's tracking webhooks (anymail) to the bounce records."""

from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts and jobs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from anymail.signals import tracking

        from .bounces import tracking_received

        tracking.connect(tracking_received, dispatch_uid="alerts.bounces.tracking_received")
        from ledger.activity import activity_sources

        from .activity import AccountThresholdSource, AlertSettingsSource

        for source in (AlertSettingsSource(), AccountThresholdSource()):  # on the org activity timeline
            activity_sources.register(source)
