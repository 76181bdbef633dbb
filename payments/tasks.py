"""Celery tasks of payments (routable as payments.tasks.*): thin wrappers around the services."""

import logging

from celery import shared_task
from django.core.cache import cache
from django.utils.dateparse import parse_datetime

from . import auto_recharge, notify, providers, services
from .models import TopUp

logger = logging.getLogger(__name__)


@shared_task(name="payments.tasks.expire_top_ups")
def expire_top_ups(at: str | None = None) -> int:
    """Expire pending top-ups whose payment did not arrive in time (beat, every 5 minutes)."""
    return services.top_ups_expire(at=parse_datetime(at) if at else None)


@shared_task(name="payments.tasks.top_up_paid_notify", bind=True, max_retries=5)
def top_up_paid_notify(self, top_up_id: str) -> list[str]:
    """The in-app notice and the receipt email with the PDF of a paid top-up (once)."""
    try:
        return notify.top_up_paid_notify(top_up_id=top_up_id)
    except OSError as exc:  # SMTP and network errors
        raise self.retry(exc=exc, countdown=30 * 2 ** self.request.retries)


@shared_task(name="payments.tasks.refund_due_notify")
def refund_due_notify(payment_id: int) -> None:
    notify.refund_due_notify(payment_id=payment_id)


@shared_task(name="payments.tasks.provider_checkout_close")
def provider_checkout_close(top_up_id: str) -> None:
    """Close the provider's checkout of a cancelled or expired top-up (best effort)."""
    top_up = TopUp.objects.get(pk=top_up_id)
    provider = providers.get(top_up.provider)
    if provider is not None and provider.is_configured():
        provider.cancel(top_up)


@shared_task(name="payments.tasks.send_sandbox_event")
def send_sandbox_event(top_up_id: str, outcome: str, webhook_url: str) -> int:
    """POST a signed sandbox event to the webhook endpoint, as a real provider would; returns the status."""
    import requests

    from .providers import sandbox

    top_up = TopUp.objects.get(pk=top_up_id)
    body = sandbox.event_body(top_up, outcome)
    response = requests.post(webhook_url, data=body, timeout=15,
                             headers={"Content-Type": "application/json", sandbox.HEADER: sandbox.sign(body)})
    if response.status_code != 200:
        logger.warning("Sandbox webhook for %s answered %s: %s", top_up_id, response.status_code, response.text[:200])
    return response.status_code


@shared_task(name="payments.tasks.auto_recharge_check")
def auto_recharge_check(account_id: str) -> str | None:
    """Fire an account's auto-recharge if it crossed its threshold (queued, debounced, by the ledger event)."""
    cache.delete(auto_recharge.pending_key(account_id))
    top_up = auto_recharge.auto_recharge_check(account_id=account_id)
    return str(top_up.pk) if top_up else None


@shared_task(name="payments.tasks.auto_recharge_charge")
def auto_recharge_charge(top_up_id: str) -> str:
    """Charge the saved payment method of an auto-recharge top-up."""
    return auto_recharge.auto_recharge_charge(top_up_id=top_up_id)
