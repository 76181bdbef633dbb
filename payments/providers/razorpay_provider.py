"""Razorpay through the official `razorpay` SDK: orders, the checkout's payment signature, webhook
signatures, and recurring payments on a saved token (auto-recharge).

Razorpay's checkout is its own script on the buyer's page (`templates/payments/razorpay_checkout.html`);
its handler posts the payment id, order id and signature back, which `verify_payment_signature`
checks before the payment settles the top-up (the webhook that follows changes nothing more).
`RAZORPAY_API_BASE` points the SDK elsewhere (the tests' local server).
"""

import json
import logging

import razorpay
from django.conf import settings
from django.urls import reverse

from ..errors import InvalidSignature, ProviderUnavailable
from ..models import Provider
from .base import ChargeResult, Checkout, Event, PaymentProvider, from_minor, to_minor
from .sandbox import checkout_token

logger = logging.getLogger(__name__)

SUCCEEDED = {"payment.captured", "order.paid"}
FAILED = {"payment.failed"}
SDK_ERRORS = (razorpay.errors.BadRequestError, razorpay.errors.GatewayError, razorpay.errors.ServerError,
              OSError, ValueError)


def client() -> razorpay.Client:
    return razorpay.Client(auth=(settings.RAZORPAY_KEY_ID, settings.RAZORPAY_KEY_SECRET),
                           base_url=settings.RAZORPAY_API_BASE)


def payment_event(params: dict) -> Event:
    """The checkout handler's post (payment id, order id, signature) as a verified success event."""
    try:
        client().utility.verify_payment_signature({key: params.get(key, "") for key in (
            "razorpay_order_id", "razorpay_payment_id", "razorpay_signature")})
    except razorpay.errors.SignatureVerificationError:
        raise InvalidSignature("The Razorpay payment signature does not verify.")
    payment_id = params["razorpay_payment_id"]
    return Event(event_id=f"checkout:{payment_id}", type="checkout.handler", outcome="succeeded",
                 payload={key: params[key] for key in ("razorpay_order_id", "razorpay_payment_id")},
                 reference=params["razorpay_order_id"], payment_id=payment_id)


class RazorpayProvider(PaymentProvider):
    name = Provider.RAZORPAY
    label = "Razorpay (UPI, cards, netbanking)"
    supports_saved_methods = True

    def is_configured(self) -> bool:
        return bool(settings.RAZORPAY_KEY_ID and settings.RAZORPAY_KEY_SECRET and settings.RAZORPAY_WEBHOOK_SECRET)

    def _order(self, top_up) -> dict:
        try:
            return client().order.create({"amount": to_minor(top_up.total, top_up.currency),
                                          "currency": top_up.currency, "receipt": top_up.pk.hex[:40],
                                          "notes": {"top_up": str(top_up.pk)}})
        except SDK_ERRORS as exc:
            logger.warning("Razorpay refused the order of top-up %s: %s", top_up.pk, exc)
            raise ProviderUnavailable(f"Razorpay did not create an order: {exc}")

    def start_checkout(self, top_up, *, base_url, return_url, cancel_url) -> Checkout:
        order = self._order(top_up)
        path = reverse("payments:razorpay_checkout", args=[checkout_token(top_up.pk)])
        return Checkout(reference=order["id"], url=base_url.rstrip("/") + path)

    def parse_webhook(self, body, headers) -> Event:
        try:
            text = body.decode()
            client().utility.verify_webhook_signature(text, headers.get("X-Razorpay-Signature") or "",
                                                      settings.RAZORPAY_WEBHOOK_SECRET)
            data = json.loads(text)
        except (razorpay.errors.SignatureVerificationError, UnicodeDecodeError, ValueError):
            raise InvalidSignature("The Razorpay webhook signature does not verify.")
        kind = data.get("event", "")
        payment = ((data.get("payload") or {}).get("payment") or {}).get("entity") or {}
        order = ((data.get("payload") or {}).get("order") or {}).get("entity") or {}
        notes = payment.get("notes") or order.get("notes") or {}
        currency = payment.get("currency") or order.get("currency") or ""
        minor = payment.get("amount", order.get("amount_paid"))
        outcome = "succeeded" if kind in SUCCEEDED else "failed" if kind in FAILED else "ignored"
        event_id = headers.get("X-Razorpay-Event-Id") or f"{kind}:{payment.get('id', order.get('id', ''))}"
        return Event(event_id=event_id, type=kind, outcome=outcome, payload=data,
                     top_up_id=notes.get("top_up", "") if isinstance(notes, dict) else "",
                     reference=payment.get("order_id") or order.get("id", ""), payment_id=payment.get("id", ""),
                     amount=from_minor(minor, currency) if minor is not None and currency else None,
                     currency=currency, reason=payment.get("error_description") or "The payment failed.")

    def charge_saved(self, top_up, *, customer, payment_method) -> ChargeResult:
        try:
            order = self._order(top_up)
            client().payment.createRecurring({
                "email": top_up.billing_email or "billing@example.com", "contact": "", "currency": top_up.currency,
                "amount": to_minor(top_up.total, top_up.currency), "order_id": order["id"],
                "customer_id": customer, "token": payment_method, "recurring": "1",
                "notes": {"top_up": str(top_up.pk)},
            })
        except ProviderUnavailable as exc:
            return ChargeResult("failed", reason=exc.detail)
        except SDK_ERRORS as exc:
            return ChargeResult("failed", reason=f"Razorpay refused the recurring payment: {exc}")
        # Recurring payments are captured asynchronously: the payment.captured webhook settles the top-up.
        return ChargeResult("pending", reference=order["id"])
