"""Entry points the ledger calls after a commit that changed balances (alert checks, webhooks)."""

import logging

from django.core.cache import cache

from creditsite.resilience import enqueue

logger = logging.getLogger(__name__)

# A burst of balance changes on one account within this window makes one alert check.
DEBOUNCE_SECONDS = 5
# A lost check's mark expires after this, so a later change queues a new one (the catch-up job also finds it).
PENDING_TTL_SECONDS = 300


def pending_key(account_id) -> str:
    return f"alerts:check-pending:{account_id}"


def balances_changed(account_ids: list) -> None:
    """Called after commit with the funding accounts whose balance or available changed.

    Must be cheap: it enqueues work (debounced), it never sends email inline. One check per
    account is queued at a time (a cache key marks it); the check clears the key when it has
    succeeded and queues another if the balance moved meanwhile. Errors are logged, never
    raised: the money transaction has already committed. With Redis unreachable nothing is
    queued; the periodic catch-up job (`alerts.jobs.alert_checks_catch_up`) checks the account later.
    """
    from .tasks import check_account_alerts

    for account_id in dict.fromkeys(str(pk) for pk in account_ids):
        try:
            if cache.add(pending_key(account_id), 1, timeout=PENDING_TTL_SECONDS):
                if not enqueue(check_account_alerts, account_id, countdown=DEBOUNCE_SECONDS):
                    cache.delete(pending_key(account_id))
        except Exception:  # a cache backend that raises: the catch-up job checks the account later
            logger.exception("Could not queue the alert check of account %s", account_id)
