"""Outbound webhooks per the Standard Webhooks specification, delivered by a Celery task with retries.

Each POST carries `webhook-id` (the delivery id, the same on every retry: receivers dedupe on it),
`webhook-timestamp` (Unix seconds of this attempt) and `webhook-signature` (`v1,<base64 HMAC-SHA256>`
of f"{id}.{timestamp}.{body}" under the endpoint's `whsec_` secret), signed with the `standardwebhooks`
library, so a receiver verifies it with any Standard Webhooks library. The body is
`{"type": event, "timestamp": ISO-8601, "data": {...}}`.
"""

import json
import logging
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime

from celery import shared_task
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from creditsite.resilience import DATABASE_ERRORS, enqueue
from ledger.models import Organization
from ops import metrics

from .models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEvent

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10
MAX_ATTEMPTS = 8
# A retry waits in the worker, unacknowledged, until its countdown ends: Redis hands it to another
# worker once the broker's visibility timeout (10 minutes, settings) passes, so waits stay below it.
MAX_BACKOFF_SECONDS = 480
USER_AGENT = "creditsite-webhooks/2"


def signature(secret: str, msg_id: str, timestamp: datetime, body: str) -> str:
    """The `webhook-signature` value of a message (Standard Webhooks v1, via the standardwebhooks library)."""
    return Webhook(secret).sign(msg_id=msg_id, timestamp=timestamp, data=body)


def signed_headers(*, secret: str, msg_id: str, body: str, at: datetime | None = None) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt of a message."""
    at = (at or datetime.now(UTC)).astimezone(UTC)
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signature(secret, msg_id, at, body)}


def backoff_seconds(attempt: int) -> int:
    """Seconds to wait before retry number `attempt` (1-based): 30s, 1m, 2m, 4m, then 8m each."""
    return min(30 * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS)


def _payload(organization: Organization, event: str, data: dict) -> dict:
    organization_data = {"id": str(organization.pk), "wallet_id": organization.wallet_id, "name": organization.name}
    return {"type": event, "timestamp": timezone.now().isoformat(),
            "data": {"organization": organization_data, **json.loads(json.dumps(data, cls=DjangoJSONEncoder))}}


def _send_after_commit(deliveries: list[WebhookDelivery]) -> None:
    for delivery in deliveries:
        transaction.on_commit(lambda pk=str(delivery.pk): enqueue(deliver_webhook, pk))


def event_publish(*, organization: Organization, event: str, data: dict) -> list[WebhookDelivery]:
    """Record one delivery per active endpoint of the org subscribed to `event`; send after commit."""
    endpoints = [endpoint for endpoint in WebhookEndpoint.objects.filter(organization=organization, is_active=True)
                 if event in (endpoint.events or [])]
    if not endpoints:
        return []
    deliveries = [WebhookDelivery(id=uuid.uuid4(), endpoint=endpoint, event=event,
                                  payload=_payload(organization, event, data)) for endpoint in endpoints]
    WebhookDelivery.objects.bulk_create(deliveries)
    _send_after_commit(deliveries)
    return deliveries


def endpoint_test_send(*, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Send a `webhook.test` event to one endpoint (active or not, whatever it subscribes to) after commit."""
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, event=WebhookEvent.TEST,
        payload=_payload(endpoint.organization, WebhookEvent.TEST,
                         {"message": "A test event from the credits back office: the signature should verify."}))
    _send_after_commit([delivery])
    return delivery


def deliveries_redeliver(*, deliveries) -> int:
    """Send deliveries again from a first attempt (same webhook-id and body, a new timestamp and signature)."""
    ids = list(deliveries.values_list("pk", flat=True))
    WebhookDelivery.objects.filter(pk__in=ids).update(status=DeliveryStatus.PENDING, attempts=0, error="")
    _send_after_commit(list(WebhookDelivery.objects.filter(pk__in=ids).only("pk")))
    return len(ids)


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
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
               **signed_headers(secret=endpoint.secret, msg_id=str(delivery.pk), body=body)}
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
    metrics.webhook_attempt_recorded(event=delivery.event, outcome=new_status)
    now = timezone.now()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=new_status, response_status=status, response_body=response_body[:2000],
        error=error or ("" if ok else f"HTTP {status}"), last_attempt_at=now, delivered_at=now if ok else None)
    delivery.refresh_from_db()
    return delivery


@shared_task(name="alerts.tasks.deliver_webhook", bind=True, max_retries=MAX_ATTEMPTS - 1,
             autoretry_for=DATABASE_ERRORS, retry_backoff=2, retry_backoff_max=120, retry_jitter=True)
def deliver_webhook(self, delivery_id: str) -> str:
    """POST one signed webhook delivery; retried with exponential backoff until delivered or out of attempts."""
    delivery = delivery_attempt(delivery_id)
    if delivery.status == DeliveryStatus.RETRYING:
        raise self.retry(countdown=backoff_seconds(delivery.attempts))
    return delivery.status
