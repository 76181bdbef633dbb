"""App config: alerts subscribe to the ledger's events here."""

from django.apps import AppConfig

from ledger.events import balances_changed


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts and jobs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from .hooks import on_balances_changed  # models are loaded only once ready() runs

        balances_changed.connect(on_balances_changed, dispatch_uid="alerts.on_balances_changed")
