"""App config: subscribes auto-recharge to the ledger's balances_changed event, registers the checks."""

from django.apps import AppConfig

from ledger.events import balances_changed


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import checks  # noqa: F401 - registers the system checks
        from .auto_recharge import on_balances_changed  # models are loaded only once ready() runs

        balances_changed.connect(on_balances_changed, dispatch_uid="payments.auto_recharge")
