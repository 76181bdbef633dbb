"""The built-in sandbox provider: a local checkout page that succeeds or fails and events signed like this:

    Sandbox-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(SANDBOX_WEBHOOK_SECRET, "<t>.<raw body>")>

with a body `{"id", "type": "payment.succeeded"|"payment.failed", "top_up", "amount", "currency"}`. Events
older than five minutes (or as far in the future) are refused. It is ours, so it is signed with `hmac`.
"""

import hashlib
import hmac
import json
import time
import uuid
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core import signing
from django.urls import reverse

from ..errors import InvalidSignature
from ..models import Provider, TopUp
from .base import ChargeResult, Checkout, Event, PaymentProvider

HEADER = "Sandbox-Signature"
TOLERANCE_SECONDS = 300
SIGNING_SALT = "payments.sandbox.checkout"
SUCCEEDED, FAILED = "payment.succeeded", "payment.failed"
# Saved "methods" of the sandbox for auto-recharge: one that pays, one that is declined.
METHOD_OK, METHOD_DECLINED = "pm_sandbox_ok", "pm_sandbox_declined"


def sign(body: bytes, *, secret: str | None = None, at: int | None = None) -> str:
    """The Sandbox-Signature header for a raw body."""
    stamp = int(time.time()) if at is None else at
    secret = settings.SANDBOX_WEBHOOK_SECRET if secret is None else secret
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


def event_body(top_up: TopUp, outcome: str, event_id: str | None = None) -> bytes:
    """The raw JSON body of a sandbox event for a top-up."""
    return json.dumps({"id": event_id or f"evt_{uuid.uuid4().hex}", "type": outcome, "top_up": str(top_up.pk),
                       "amount": str(top_up.total), "currency": top_up.currency}).encode()


def checkout_token(top_up_id) -> str:
    return signing.dumps(str(top_up_id), salt=SIGNING_SALT)


def top_up_id_from_token(token: str) -> str | None:
    try:
        return signing.loads(token, salt=SIGNING_SALT)
    except signing.BadSignature:
        return None


def verify(body: bytes, header: str | None, *, now: float | None = None) -> None:
    """Raise InvalidSignature unless `header` signs `body` with the secret within the tolerance."""
    if not header:
        raise InvalidSignature(f"The {HEADER} header is missing.")
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        stamp = int(parts["t"])
        given = parts["v1"]
    except (KeyError, ValueError):
        raise InvalidSignature(f"The {HEADER} header is not in the form t=...,v1=....")
    expected = sign(body, at=stamp).split("v1=", 1)[1]
    if not hmac.compare_digest(expected, given):
        raise InvalidSignature("The webhook signature does not match.")
    if abs((time.time() if now is None else now) - stamp) > TOLERANCE_SECONDS:
        raise InvalidSignature("The webhook is older than five minutes (or its clock is off): refused.")


class SandboxProvider(PaymentProvider):
    name = Provider.SANDBOX
    label = "Sandbox (test payments)"
    supports_saved_methods = True

    def is_configured(self) -> bool:
        return bool(settings.PAYMENTS_SANDBOX and settings.SANDBOX_WEBHOOK_SECRET)

    def start_checkout(self, top_up, *, base_url, return_url, cancel_url) -> Checkout:
        path = reverse("payments:sandbox_checkout", args=[checkout_token(top_up.pk)])
        return Checkout(reference=f"sbx_{top_up.pk.hex}", url=base_url.rstrip("/") + path)

    def parse_webhook(self, body, headers) -> Event:
        verify(body, headers.get(HEADER))
        try:
            data = json.loads(body)
            event_type = data["type"]
            amount = Decimal(str(data["amount"]))
            event_id, top_up_id, currency = str(data["id"]), str(data["top_up"]), str(data["currency"])
        except (ValueError, KeyError, TypeError, InvalidOperation):
            raise InvalidSignature("The sandbox event is not in the documented form.")
        outcome = {SUCCEEDED: "succeeded", FAILED: "failed"}.get(event_type, "ignored")
        return Event(event_id=event_id, type=event_type, outcome=outcome, payload=data, top_up_id=top_up_id,
                     payment_id=f"sbx_pay_{event_id}" if outcome == "succeeded" else "", amount=amount,
                     currency=currency, reason="The sandbox card was declined." if outcome == "failed" else "")

    def charge_saved(self, top_up, *, customer, payment_method) -> ChargeResult:
        if payment_method == METHOD_OK:
            return ChargeResult("succeeded", payment_id=f"sbx_pay_{uuid.uuid4().hex}")
        return ChargeResult("failed", reason="The sandbox card was declined.")
