"""Celery tasks of payments (routable as payments.tasks.*): the beat jobs and the sandbox's event sender.

The tasks that the services enqueue live with what they run (notify.py, services.py, auto_recharge.py),
so that no module below imports this one; they are imported here so that Celery's autodiscovery of
`payments.tasks` registers them, under their `payments.tasks.*` names.
"""

import logging

import requests
from celery import shared_task
from django.utils.dateparse import parse_datetime

from . import services
from .auto_recharge import auto_recharge_catch_up_task as auto_recharge_catch_up
from .auto_recharge import auto_recharge_charge_task as auto_recharge_charge
from .auto_recharge import auto_recharge_check_task as auto_recharge_check
from .models import TopUp
from .notify import refund_due_notify_task as refund_due_notify
from .notify import top_up_paid_notify_task as top_up_paid_notify
from .providers import sandbox
from .services import provider_checkout_close

__all__ = ["auto_recharge_catch_up", "auto_recharge_charge", "auto_recharge_check", "expire_top_ups",
           "provider_checkout_close", "refund_due_notify", "send_sandbox_event", "top_up_paid_notify"]

logger = logging.getLogger(__name__)


@shared_task(name="payments.tasks.expire_top_ups")
def expire_top_ups(at: str | None = None) -> int:
    """Expire pending top-ups whose payment did not arrive in time (beat, every 5 minutes)."""
    return services.top_ups_expire(at=parse_datetime(at) if at else None)


@shared_task(name="payments.tasks.send_sandbox_event")
def send_sandbox_event(top_up_id: str, outcome: str, webhook_url: str) -> int:
    """POST a signed sandbox event to the webhook endpoint, as a real provider would; returns the status."""
    top_up = TopUp.objects.get(pk=top_up_id)
    body = sandbox.event_body(top_up, outcome)
    response = requests.post(webhook_url, data=body, timeout=15,
                             headers={"Content-Type": "application/json", sandbox.HEADER: sandbox.sign(body)})
    if response.status_code != 200:
        logger.warning("Sandbox webhook for %s answered %s: %s", top_up_id, response.status_code, response.text[:200])
    return response.status_code
