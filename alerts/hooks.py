"""The alerts side of the ledger's events: after a commit that changed balances, queue (debounced) alert checks."""

import logging

from django.core.cache import cache
from django.db import transaction

from ledger.models import BalanceMode, Organization

from .tasks import check_account_alerts, pending_key

logger = logging.getLogger(__name__)

# A burst of balance changes on one account within this window makes one alert check.
DEBOUNCE_SECONDS = 5
# Safety net: if a queued check is lost, the account is checked again at the latest after this.
PENDING_TTL_SECONDS = 300


def on_balances_changed(sender, account_ids, **kwargs) -> None:
    """Receiver of ledger.events.balances_changed (connected in AlertsConfig.ready)."""
    alert_checks_queue(account_ids)


def alert_checks_queue(account_ids: list) -> None:
    """Queue an alert check of each funding account whose balance or available changed.

    Must be cheap: it enqueues work (debounced), it never sends email inline. One check per
    account is queued at a time (a cache key marks it); the check clears the key when it starts,
    so changes made while it runs queue the next one. Errors are logged, never raised: the money
    transaction has already committed.
    """
    for account_id in dict.fromkeys(str(pk) for pk in account_ids):
        try:
            if cache.add(pending_key(account_id), 1, timeout=PENDING_TTL_SECONDS):
                check_account_alerts.apply_async((account_id,), countdown=DEBOUNCE_SECONDS)
        except Exception:
            logger.exception("Could not queue the alert check of account %s", account_id)
            try:
                cache.delete(pending_key(account_id))
            except Exception:  # noqa: S110 - the cache itself is down; the next change retries
                pass


def organization_alerts_recheck(*, organization: Organization) -> None:
    """Re-check every funding account of an org after its thresholds changed (after commit, debounced)."""
    ids = list(organization.accounts.filter(balance_mode=BalanceMode.OWN).values_list("pk", flat=True))
    transaction.on_commit(lambda: alert_checks_queue(ids))
