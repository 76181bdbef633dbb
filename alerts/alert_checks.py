"""Alert checks of funding accounts: queued (debounced, one at a time per account) after balances change, and the
task that runs them, retried on database errors."""

import logging
import threading
import time

from celery import shared_task
from django.core.cache import cache
from redis.exceptions import RedisError

from creditsite.resilience import DATABASE_ERRORS, enqueue

from . import services
from .selectors import alert_check_due

logger = logging.getLogger(__name__)

# A burst of balance changes on one account within this window makes one alert check.
DEBOUNCE_SECONDS = 5
# A lost check's mark expires after this, so a later change queues a new one (the catch-up job also finds it).
PENDING_TTL_SECONDS = 300
# A queued check runs DEBOUNCE_SECONDS after it was queued (never sooner): until then a further balance
# change needs nothing queued, and this process need not ask Redis. The margin covers clocks of other hosts.
ETA_MARGIN_SECONDS = 1.0

# account id -> the wall-clock time until which this process knows a check of it is queued and not yet started
_queued_until: dict[str, float] = {}
_queued_lock = threading.Lock()


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
    now = time.time()
    for account_id in dict.fromkeys(str(pk) for pk in account_ids):
        if _queued_until.get(account_id, 0) > now:
            continue  # a check queued a moment ago has not started: it will see this change
        try:
            eta = now + DEBOUNCE_SECONDS
            claimed, known_eta = _claim_pending(pending_key(account_id), eta)
            if claimed:
                if enqueue(check_account_alerts, account_id, countdown=DEBOUNCE_SECONDS):
                    _remember(account_id, eta)
                else:
                    cache.delete(pending_key(account_id))
            elif known_eta:
                _remember(account_id, known_eta)
        except Exception:  # a cache backend that raises: the catch-up job checks the account later
            logger.exception("Could not queue the alert check of account %s", account_id)


def _checks_run_at_once() -> bool:
    """Eager Celery (no Redis, and the tests) runs a check when queued, not at its ETA."""
    return check_account_alerts.app.conf.task_always_eager


def _remember(account_id: str, eta: float) -> None:
    if _checks_run_at_once():
        return
    with _queued_lock:
        if len(_queued_until) > 10_000:
            _queued_until.clear()
        _queued_until[account_id] = eta - ETA_MARGIN_SECONDS


def _claim_pending(key: str, eta: float) -> tuple[bool, float | None]:
    """Mark the account's check as queued, with its ETA as the value: (whether we set the mark, the ETA of the
    check already queued when we did not, if known). On Redis one round trip (SET NX GET)."""
    client = getattr(getattr(cache, "client", None), "get_client", None)
    if client is None:  # not django-redis (the in-process cache without Redis)
        return cache.add(key, int(eta), timeout=PENDING_TTL_SECONDS), None
    try:
        previous = client(write=True).set(cache.make_key(key), int(eta), nx=True, get=True, ex=PENDING_TTL_SECONDS)
    except RedisError:  # as django-redis's IGNORE_EXCEPTIONS: nothing queued, the catch-up job checks later
        return False, None
    if previous is None:
        return True, None
    try:
        return False, float(previous)
    except (TypeError, ValueError):  # a mark written by an older version (not an ETA)
        return False, None


def forget_queued(account_id) -> None:
    """Drop this process's note that a check of the account is queued (the check has started)."""
    with _queued_lock:
        _queued_until.pop(str(account_id), None)


@shared_task(name="alerts.tasks.check_account_alerts", autoretry_for=DATABASE_ERRORS, max_retries=10,
             retry_backoff=2, retry_backoff_max=120, retry_jitter=True)
def check_account_alerts(account_id: str) -> list[int]:
    """Fire the alerts a funding account crossed since its last check (queued, debounced, by alert_checks_queue).

    A database error (a restart, a failover) retries the check with backoff; the pending mark is
    cleared only after a check succeeded, and if the balance moved while it ran, the next check is queued.
    """
    forget_queued(account_id)
    fired = services.account_alerts_check(account_id=account_id)
    cache.delete(pending_key(account_id))
    if alert_check_due(account_id):
        alert_checks_queue([account_id])
    return [notification.pk for notification in fired]
