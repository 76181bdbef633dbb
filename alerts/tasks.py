"""Celery tasks: thin wrappers that run the scheduled jobs.

The alert check, alert email and webhook delivery tasks live with what they run (alert_checks.py,
emails.py, webhooks.py, which enqueue them) and are imported here so that Celery's autodiscovery of
`alerts.tasks` registers them.
"""

from celery import shared_task
from django.utils.dateparse import parse_datetime

from . import jobs
from .alert_checks import check_account_alerts
from .emails import send_alert_email
from .webhooks import deliver_webhook

__all__ = ["check_account_alerts", "deliver_webhook", "purge_idempotency_keys", "roll_up_month_totals", "run_due_jobs",
           "send_alert_email"]


def _instant(at: str | None):
    return parse_datetime(at) if at else None


@shared_task(name="alerts.tasks.run_due_jobs")
def run_due_jobs(at: str | None = None) -> dict:
    """Run every job that is due now (or as of the ISO-8601 instant `at`)."""
    results = jobs.run_due_jobs(at=_instant(at), names=jobs.DUE_JOBS)
    return {name: result.as_dict() for name, result in results.items()}


@shared_task(name="alerts.tasks.purge_idempotency_keys")
def purge_idempotency_keys(at: str | None = None) -> dict:
    """Remove idempotency keys (and the console's one-time form tokens) older than the retention period."""
    return jobs.run_job("idempotency_keys_purge", _instant(at)).as_dict()


@shared_task(name="alerts.tasks.roll_up_month_totals")
def roll_up_month_totals(at: str | None = None) -> dict:
    """Roll up every org's closed local months into the monthly totals (ledger.daytotals.roll_months)."""
    return jobs.run_job("month_totals_roll", _instant(at)).as_dict()
