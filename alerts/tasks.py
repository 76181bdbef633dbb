"""Celery tasks: thin wrappers that run the scheduled jobs, alert checks, alert emails and webhook deliveries."""

from celery import shared_task
from django.core.cache import cache
from django.utils.dateparse import parse_datetime

from . import jobs, services, webhooks
from .hooks import pending_key
from .models import DeliveryStatus


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


@shared_task(name="alerts.tasks.check_account_alerts")
def check_account_alerts(account_id: str) -> list[int]:
    """Fire the alerts a funding account crossed since its last check (queued, debounced, by hooks)."""
    cache.delete(pending_key(account_id))
    return [notification.pk for notification in services.account_alerts_check(account_id=account_id)]


@shared_task(name="alerts.tasks.send_alert_email", bind=True, max_retries=5)
def send_alert_email(self, notification_id: int) -> list[str]:
    """Email a notification to its org's recipients, retried with backoff on mail server errors."""
    try:
        return services.notification_email(notification_id=notification_id)
    except OSError as exc:  # SMTP and network errors
        raise self.retry(exc=exc, countdown=webhooks.backoff_seconds(self.request.retries + 1))


@shared_task(name="alerts.tasks.deliver_webhook", bind=True, max_retries=webhooks.MAX_ATTEMPTS - 1)
def deliver_webhook(self, delivery_id: str) -> str:
    """POST one signed webhook delivery; retried with exponential backoff until delivered or out of attempts."""
    delivery = webhooks.delivery_attempt(delivery_id)
    if delivery.status == DeliveryStatus.RETRYING:
        raise self.retry(countdown=webhooks.backoff_seconds(delivery.attempts))
    return delivery.status
