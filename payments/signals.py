"""Signal and registry wiring of the payments app (called once from PaymentsConfig.ready): auto-recharge
listens to the ledger's balances_changed event, the system checks register, top-ups join the org
activity timeline and the finance landing page's pending slot."""

from ledger.activity import activity_sources
from ledger.events import balances_changed
from ledger.finance.panels import PENDING_TOPUPS, LandingPanel, landing_panels

from . import checks  # noqa: F401 - registers the system checks
from .activity import TopUpSource, pending_top_ups_panel
from .auto_recharge import on_balances_changed


def connect() -> None:
    """Connect the receivers and register the timeline source and the landing panel."""
    balances_changed.connect(on_balances_changed, dispatch_uid="payments.auto_recharge")
    activity_sources.register(TopUpSource())
    landing_panels.register(LandingPanel(slot=PENDING_TOPUPS, title="Pending top-ups",
                                         template="payments/_pending_topups.html", context=pending_top_ups_panel))
