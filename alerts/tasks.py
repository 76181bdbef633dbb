"""Celery tasks: thin wrappers that run the scheduled jobs (filled in by the jobs issue)."""

from celery import shared_task


@shared_task(name="alerts.tasks.run_due_jobs")
def run_due_jobs() -> None:
    """Run every job that is due now."""


@shared_task(name="alerts.tasks.purge_idempotency_keys")
def purge_idempotency_keys() -> None:
    """Remove idempotency keys older than the retention period."""
