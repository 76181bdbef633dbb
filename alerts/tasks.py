"""Celery tasks: thin wrappers that run the scheduled jobs, alert checks, alert emails and webhook deliveries."""

from celery import shared_task
from django.core.cache import cache
from django.db import InterfaceError, OperationalError
from django.utils.dateparse import parse_datetime

from . import jobs, services, webhooks
from .hooks import balances_changed, pending_key
from .models import DeliveryStatus
from .selectors import alert_check_due

# A database restart or failover: the task is retried with backoff (countdowns stay below the broker's
# visibility timeout, see settings), on a fresh connection (Celery's Django fixup drops the broken one).
DATABASE_ERRORS = (OperationalError, InterfaceError)


def _instant(at: str | None):
    return parse_datetime(at) if at else None


@shared_task(name="alerts.tasks.run_due_jobs")
def run_due_jobs(at: str | None = None) -> dict:
    """Run every job that is due now (or as of the ISO-8601 instant `at`)."""
    results = jobs.run_due_jobs(at=_instant(at), names=jobs.DUE_JOBS)
    return {name: result.as_dict() for name, result in results.items()}


@shared_task(name="alerts.tasks.purge_idempotency_keys")
def purge_idempotency_keys(at: str | None = None) -> dict:
    """Remove idempotency keys older than the retention period."""
    return jobs.run_job("idempotency_keys_purge", _instant(at)).as_dict()


@shared_task(name="alerts.tasks.check_account_alerts", autoretry_for=DATABASE_ERRORS, max_retries=10,
             retry_backoff=2, retry_backoff_max=120, retry_jitter=True)
def check_account_alerts(account_id: str) -> list[int]:
    """Fire the alerts a funding account crossed since its last check (queued, debounced, by hooks).

    A database error (a restart, a failover) retries the check with backoff; the pending mark is
    cleared only after a check succeeded, and if the balance moved while it ran, the next check is queued.
    """
    fired = services.account_alerts_check(account_id=account_id)
    cache.delete(pending_key(account_id))
    if alert_check_due(account_id):
        balances_changed([account_id])
    return [notification.pk for notification in fired]


@shared_task(name="alerts.tasks.send_alert_email", bind=True, max_retries=5, autoretry_for=DATABASE_ERRORS,
             retry_backoff=2, retry_backoff_max=120, retry_jitter=True)
def send_alert_email(self, notification_id: int) -> list[str]:
    """Email a notification to its org's recipients, retried with backoff on mail server errors."""
    try:
        return services.notification_email(notification_id=notification_id)
    except OSError as exc:  # SMTP and network errors
        raise self.retry(exc=exc, countdown=webhooks.backoff_seconds(self.request.retries + 1))


@shared_task(name="alerts.tasks.deliver_webhook", bind=True, max_retries=webhooks.MAX_ATTEMPTS - 1,
             autoretry_for=DATABASE_ERRORS, retry_backoff=2, retry_backoff_max=120, retry_jitter=True)
def deliver_webhook(self, delivery_id: str) -> str:
    """POST one signed webhook delivery; retried with exponential backoff until delivered or out of attempts."""
    delivery = webhooks.delivery_attempt(delivery_id)
    if delivery.status == DeliveryStatus.RETRYING:
        raise self.retry(countdown=webhooks.backoff_seconds(delivery.attempts))
    return delivery.status
