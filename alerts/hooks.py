"""The alerts side of the ledger's events: after a commit that changed balances, queue (debounced) alert checks."""

from django.db import transaction

from ledger.models import BalanceMode, Organization

from .alert_checks import alert_checks_queue


def on_balances_changed(sender, account_ids, **kwargs) -> None:
    """Receiver of ledger.events.balances_changed (connected in AlertsConfig.ready)."""
    alert_checks_queue(account_ids)


def organization_alerts_recheck(*, organization: Organization) -> None:
    """Re-check every funding account of an org after its thresholds changed (after commit, debounced)."""
    ids = list(organization.accounts.filter(balance_mode=BalanceMode.OWN).values_list("pk", flat=True))
    transaction.on_commit(lambda: alert_checks_queue(ids))
