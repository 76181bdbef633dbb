"""Celery task of approvals (beat): expire the requests nobody decided within seven days."""

from celery import shared_task
from django.utils.dateparse import parse_datetime

from . import services


@shared_task(name="approvals.tasks.expire_approval_requests")
def expire_approval_requests(at: str | None = None) -> int:
    """Expire pending approval requests past their lifetime (beat, every 15 minutes)."""
    return services.approval_requests_expire(at=parse_datetime(at) if at else None)
