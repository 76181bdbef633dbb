"""App config: alerts subscribe to the ledger's events and the email provider's tracking webhooks (anymail), and
add their sources to the org activity timeline."""

from anymail.signals import tracking
from django.apps import AppConfig

from ledger.events import balances_changed


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts and jobs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from ledger.activity import activity_sources  # models are loaded only once ready() runs (also below)

        from .activity import AccountThresholdSource, AlertSettingsSource  # models: see above
        from .bounces import tracking_received  # models: see above
        from .hooks import on_balances_changed  # models: see above

        balances_changed.connect(on_balances_changed, dispatch_uid="alerts.on_balances_changed")
        tracking.connect(tracking_received, dispatch_uid="alerts.bounces.tracking_received")
        for source in (AlertSettingsSource(), AccountThresholdSource()):  # on the org activity timeline
            activity_sources.register(source)
