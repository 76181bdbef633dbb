"""Helpers of the payments tests: start a top-up through the service, deliver signed sandbox events."""

import json
import time
import uuid

from rest_framework.test import APIClient

from ledger import services as ledger
from payments import services
from payments.providers import sandbox

from .conftest import BASE_URL, BILLING_KA

WEBHOOK = "/api/v1/payments/webhooks/sandbox"


def start_top_up(account, amount="1000", billing=None, actor=None, provider=None, **kwargs):
    return services.top_up_create(actor=actor or ledger.Actor(service="test"), account=account, amount=amount,
                                  billing=billing or BILLING_KA, provider=provider, base_url=BASE_URL, **kwargs)


def sandbox_body(top_up, outcome="payment.succeeded", event_id=None, amount=None) -> bytes:
    return json.dumps({"id": event_id or f"evt_{uuid.uuid4().hex}", "type": outcome, "top_up": str(top_up.pk),
                       "amount": str(amount if amount is not None else top_up.total),
                       "currency": top_up.currency}).encode()


def deliver(body: bytes, *, at=None, secret=None, header=None):
    """POST a sandbox event to the webhook endpoint, signed (or with the given header)."""
    signature = header if header is not None else sandbox.sign(body, secret=secret,
                                                               at=int(time.time()) if at is None else at)
    return APIClient().generic("POST", WEBHOOK, body, content_type="application/json",
                               HTTP_SANDBOX_SIGNATURE=signature)
