"""App config: subscribes auto-recharge to the ledger's balances_changed event, registers the checks, puts top-ups
on the org activity timeline and the finance landing page's pending slot."""

from django.apps import AppConfig

from ledger.events import balances_changed


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # modules that import models load only once the registry is ready
        from ledger.activity import activity_sources
        from ledger.finance.panels import PENDING_TOPUPS, LandingPanel, landing_panels

        from . import checks  # noqa: F401 - registers the system checks
        from .activity import TopUpSource, pending_top_ups_panel
        from .auto_recharge import on_balances_changed

        balances_changed.connect(on_balances_changed, dispatch_uid="payments.auto_recharge")
        activity_sources.register(TopUpSource())
        landing_panels.register(LandingPanel(slot=PENDING_TOPUPS, title="Pending top-ups",
                                             template="payments/_pending_topups.html", context=pending_top_ups_panel))
