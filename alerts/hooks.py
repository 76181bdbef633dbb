"""Entry points the ledger calls after a commit that changed balances (alert checks, webhooks)."""

import logging

from django.core.cache import cache

logger = logging.getLogger(__name__)

# A burst of balance changes on one account within this window makes one alert check.
DEBOUNCE_SECONDS = 5
# Safety net: if a queued check is lost, the account is checked again at the latest after this.
PENDING_TTL_SECONDS = 300


def pending_key(account_id) -> str:
    return f"alerts:check-pending:{account_id}"


def balances_changed(account_ids: list) -> None:
    """Called after commit with the funding accounts whose balance or available changed.

    Must be cheap: it enqueues work (debounced), it never sends email inline. One check per
    account is queued at a time (a cache key marks it); the check clears the key when it starts,
    so changes made while it runs queue the next one. Errors are logged, never raised: the money
    transaction has already committed.
    """
    from .tasks import check_account_alerts

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
