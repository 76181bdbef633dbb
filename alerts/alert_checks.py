"""Alert checks of funding accounts: queued (debounced, one at a time per account) after balances change, and the
task that runs them, retried on database errors."""

import logging

from celery import shared_task
from django.core.cache import cache

from creditsite.resilience import DATABASE_ERRORS, enqueue

from . import services
from .selectors import alert_check_due

logger = logging.getLogger(__name__)

# A burst of balance changes on one account within this window makes one alert check.
DEBOUNCE_SECONDS = 5
# A lost check's mark expires after this, so a later change queues a new one (the catch-up job also finds it).
PENDING_TTL_SECONDS = 300


def pending_key(account_id) -> str:
    """The cache key that marks an alert check of the account as queued."""
    return f"alerts:check-pending:{account_id}"


def alert_checks_queue(account_ids: list) -> None:
    """Queue an alert check of each funding account whose balance or available changed.

    Must be cheap: it enqueues work (debounced), it never sends email inline. One check per
    account is queued at a time (a cache key marks it); the check clears the key when it has
    succeeded and queues another if the balance moved meanwhile. Errors are logged, never
    raised: the money transaction has already committed. With Redis unreachable nothing is
    queued; the periodic catch-up job (`alerts.jobs.alert_checks_catch_up`) checks the account later.
    """
    for account_id in dict.fromkeys(str(pk) for pk in account_ids):
        try:
            if cache.add(pending_key(account_id), 1, timeout=PENDING_TTL_SECONDS):
                if not enqueue(check_account_alerts, account_id, countdown=DEBOUNCE_SECONDS):
                    cache.delete(pending_key(account_id))
        except Exception:  # a cache backend that raises: the catch-up job checks the account later
            logger.exception("Could not queue the alert check of account %s", account_id)


@shared_task(name="alerts.tasks.check_account_alerts", autoretry_for=DATABASE_ERRORS, max_retries=10,
             retry_backoff=2, retry_backoff_max=120, retry_jitter=True)
def check_account_alerts(account_id: str) -> list[int]:
    """Fire the alerts a funding account crossed since its last check (queued, debounced, by alert_checks_queue).

    A database error (a restart, a failover) retries the check with backoff; the pending mark is
    cleared only after a check succeeded, and if the balance moved while it ran, the next check is queued.
    """
    fired = services.account_alerts_check(account_id=account_id)
    cache.delete(pending_key(account_id))
    if alert_check_due(account_id):
        alert_checks_queue([account_id])
    return [notification.pk for notification in fired]
