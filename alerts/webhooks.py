"""Outbound webhooks: signed JSON events to internal services, delivered by a Celery task with retries.

Each request carries `X-Credits-Event`, `X-Credits-Delivery`, `X-Credits-Timestamp` (Unix seconds) and
`X-Credits-Signature: sha256=<hex>`, the HMAC-SHA256 of f"{timestamp}.{body}" with the endpoint's
secret. Receivers recompute it and refuse timestamps older than a few minutes (replays).
"""

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
import uuid

from celery import shared_task
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from ledger.models import Organization

from .models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10
MAX_ATTEMPTS = 8
USER_AGENT = "creditsite-webhooks/1"


def signature(secret: str, timestamp: int | str, body: str | bytes) -> str:
    """The hex HMAC-SHA256 of f"{timestamp}.{body}" under `secret`."""
    if isinstance(body, bytes):
        body = body.decode()
    message = f"{timestamp}.{body}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_valid(secret: str, timestamp: int | str, body: str | bytes, header: str) -> bool:
    """Check an `X-Credits-Signature` header (constant time), as a receiver would."""
    expected = "sha256=" + signature(secret, timestamp, body)
    return hmac.compare_digest(expected, header or "")


def backoff_seconds(attempt: int) -> int:
    """Seconds to wait before retry number `attempt` (1-based): 30s, 1m, 2m, ... capped at 1h."""
    return min(30 * 2 ** (attempt - 1), 3600)


def event_publish(*, organization: Organization, event: str, data: dict) -> list[WebhookDelivery]:
    """Record one delivery per active endpoint of the org subscribed to `event`; send after commit."""
    endpoints = [endpoint for endpoint in WebhookEndpoint.objects.filter(organization=organization, is_active=True)
                 if event in (endpoint.events or [])]
    if not endpoints:
        return []
    deliveries = []
    for endpoint in endpoints:
        delivery_id = uuid.uuid4()
        payload = {"id": str(delivery_id), "event": event, "created_at": timezone.now().isoformat(),
                   "organization": {"id": str(organization.pk), "wallet_id": organization.wallet_id,
                                    "name": organization.name},
                   "data": json.loads(json.dumps(data, cls=DjangoJSONEncoder))}
        deliveries.append(WebhookDelivery(id=delivery_id, endpoint=endpoint, event=event, payload=payload))
    WebhookDelivery.objects.bulk_create(deliveries)
    for delivery in deliveries:
        transaction.on_commit(lambda pk=str(delivery.pk): _enqueue(deliver_webhook, pk))
    return deliveries


def _enqueue(task, *args) -> None:
    try:
        task.delay(*args)
    except Exception:  # a broker outage must not break the caller; the delivery stays pending
        logger.exception("Could not enqueue %s%r", task.name, args)


def _post(url: str, body: bytes, headers: dict) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - http(s) only
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            return response.status, response.read(2000).decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(2000).decode(errors="replace") if exc.fp else ""


def delivery_attempt(delivery_id) -> WebhookDelivery:
    """POST a delivery once and log the outcome: delivered on 2xx, else retrying (or failed at the last try)."""
    with transaction.atomic():
        delivery = (WebhookDelivery.objects.select_for_update(of=("self",)).select_related("endpoint")
                    .get(pk=delivery_id))
        if delivery.status in (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED):
            return delivery
        delivery.attempts += 1
        attempt = delivery.attempts
        delivery.save(update_fields=["attempts"])
    endpoint = delivery.endpoint
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json", "User-Agent": USER_AGENT,
        "X-Credits-Event": delivery.event, "X-Credits-Delivery": str(delivery.pk),
        "X-Credits-Timestamp": str(timestamp),
        "X-Credits-Signature": "sha256=" + signature(endpoint.secret, timestamp, body),
    }
    status, response_body, error = None, "", ""
    try:
        if not endpoint.url.startswith(("http://", "https://")):
            raise ValueError("Only http and https URLs are allowed.")
        status, response_body = _post(endpoint.url, body.encode(), headers)
    except Exception as exc:  # network errors, timeouts: logged and retried
        error = f"{type(exc).__name__}: {exc}"
    ok = status is not None and 200 <= status < 300
    if ok:
        new_status = DeliveryStatus.DELIVERED
    elif attempt >= MAX_ATTEMPTS:
        new_status = DeliveryStatus.FAILED
    else:
        new_status = DeliveryStatus.RETRYING
    now = timezone.now()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=new_status, response_status=status, response_body=response_body[:2000],
        error=error or ("" if ok else f"HTTP {status}"), last_attempt_at=now, delivered_at=now if ok else None)
    delivery.refresh_from_db()
    return delivery


@shared_task(name="alerts.tasks.deliver_webhook", bind=True, max_retries=MAX_ATTEMPTS - 1)
def deliver_webhook(self, delivery_id: str) -> str:
    """POST one signed webhook delivery; retried with exponential backoff until delivered or out of attempts."""
    delivery = delivery_attempt(delivery_id)
    if delivery.status == DeliveryStatus.RETRYING:
        raise self.retry(countdown=backoff_seconds(delivery.attempts))
    return delivery.status
