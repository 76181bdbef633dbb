"""App config: wires payments to the other apps once the registry is ready (payments.signals): auto-recharge
on the ledger's balances_changed event, the system checks, top-ups on the org activity timeline and the
finance landing page's pending slot."""

from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import signals  # imports models: only once the app registry is ready

        signals.connect()
