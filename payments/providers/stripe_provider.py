"""Stripe through the official `stripe` SDK: Checkout Sessions for one-off payments, off-session
PaymentIntents on a saved payment method (auto-recharge), `stripe.Webhook.construct_event` for events.

The checkout of an account whose auto-recharge runs on Stripe asks Stripe to keep the card
(`setup_future_usage: off_session`); the `payment_intent.succeeded` event then names the customer and
the saved method, which payments.services puts on the auto-recharge (switching it back on).

`STRIPE_API_BASE` points the SDK elsewhere (the tests' local server); production leaves the default.
"""

import logging
from datetime import timedelta

import stripe
from django.conf import settings
from django.utils import timezone

from ..errors import InvalidSignature, ProviderUnavailable
from ..models import AutoRecharge, Provider
from .base import ChargeResult, Checkout, Event, PaymentProvider, from_minor, to_minor

logger = logging.getLogger(__name__)

# Stripe keeps a Checkout Session open between 30 minutes and 24 hours.
SESSION_MIN, SESSION_MAX = timedelta(minutes=30), timedelta(hours=24)
SUCCEEDED = {"checkout.session.completed", "checkout.session.async_payment_succeeded", "payment_intent.succeeded"}
FAILED = {"checkout.session.async_payment_failed", "checkout.session.expired", "payment_intent.payment_failed"}


def client() -> stripe.StripeClient:
    return stripe.StripeClient(settings.STRIPE_SECRET_KEY, base_addresses={"api": settings.STRIPE_API_BASE},
                               max_network_retries=2)


class StripeProvider(PaymentProvider):
    name = Provider.STRIPE
    label = "Stripe (card)"
    supports_saved_methods = True

    def is_configured(self) -> bool:
        return bool(settings.STRIPE_SECRET_KEY and settings.STRIPE_WEBHOOK_SECRET)

    def start_checkout(self, top_up, *, base_url, return_url, cancel_url) -> Checkout:
        lifetime = min(max(top_up.expires_at - timezone.now(), SESSION_MIN), SESSION_MAX)
        params = {
            "mode": "payment",
            "client_reference_id": str(top_up.pk),
            "success_url": return_url,
            "cancel_url": cancel_url,
            "expires_at": int((timezone.now() + lifetime).timestamp()),
            "line_items": [{"quantity": 1, "price_data": {
                "currency": top_up.currency.lower(), "unit_amount": to_minor(top_up.total, top_up.currency),
                "product_data": {"name": f"{top_up.amount.normalize():f} {top_up.currency} of messaging credits"},
            }}],
            "metadata": {"top_up": str(top_up.pk)},
            "payment_intent_data": {"metadata": {"top_up": str(top_up.pk)}},
        }
        rule = AutoRecharge.objects.filter(account_id=top_up.account_id, provider=Provider.STRIPE).first()
        if rule is not None:  # the account recharges through Stripe: keep this card for off-session charges
            params["payment_intent_data"]["setup_future_usage"] = "off_session"
            if rule.customer_reference:
                params["customer"] = rule.customer_reference
            else:
                params["customer_creation"] = "always"
        if top_up.billing_email and "customer" not in params:
            params["customer_email"] = top_up.billing_email
        try:
            session = client().v1.checkout.sessions.create(params=params,
                                                           options={"idempotency_key": f"top-up-{top_up.pk}"})
        except stripe.StripeError as exc:
            logger.warning("Stripe refused the checkout of top-up %s: %s", top_up.pk, exc)
            raise ProviderUnavailable(f"Stripe did not open a checkout: {exc.user_message or exc}")
        return Checkout(reference=session.id, url=session.url)

    def parse_webhook(self, body, headers) -> Event:
        try:
            event = stripe.Webhook.construct_event(body.decode(), headers.get("Stripe-Signature"),
                                                   settings.STRIPE_WEBHOOK_SECRET)
        except (stripe.SignatureVerificationError, ValueError, UnicodeDecodeError) as exc:
            raise InvalidSignature(f"The Stripe signature does not verify: {exc}")
        payload = event.to_dict()
        obj = payload["data"]["object"]
        kind = payload["type"]
        metadata = obj.get("metadata") or {}
        outcome = "succeeded" if kind in SUCCEEDED else "failed" if kind in FAILED else "ignored"
        if kind == "checkout.session.completed" and obj.get("payment_status") != "paid":
            outcome = "ignored"  # a delayed method: async_payment_succeeded or _failed follows
        is_session = obj.get("object") == "checkout.session"
        currency = (obj.get("currency") or "").upper()
        minor = obj.get("amount_total") if is_session else obj.get("amount_received") or obj.get("amount")
        error = obj.get("last_payment_error") or {}
        method, customer = obj.get("payment_method"), obj.get("customer")
        saved = (kind == "payment_intent.succeeded" and obj.get("setup_future_usage") == "off_session"
                 and isinstance(method, str) and isinstance(customer, str))
        return Event(
            event_id=payload["id"], type=kind, outcome=outcome, payload=payload,
            top_up_id=metadata.get("top_up") or obj.get("client_reference_id") or "",
            reference=obj["id"] if is_session else "",
            payment_id=(obj.get("payment_intent") or "") if is_session else obj["id"],
            amount=from_minor(minor, currency) if minor is not None and currency else None, currency=currency,
            reason="The checkout expired unpaid." if kind == "checkout.session.expired"
            else error.get("message", "The payment failed.") if outcome == "failed" else "",
            saved_method=(customer, method) if saved else None,
        )

    def charge_saved(self, top_up, *, customer, payment_method) -> ChargeResult:
        try:
            intent = client().v1.payment_intents.create(params={
                "amount": to_minor(top_up.total, top_up.currency), "currency": top_up.currency.lower(),
                "customer": customer, "payment_method": payment_method, "off_session": True, "confirm": True,
                "metadata": {"top_up": str(top_up.pk)},
                "description": f"Auto-recharge of {top_up.amount.normalize():f} {top_up.currency} of credits",
            }, options={"idempotency_key": f"top-up-{top_up.pk}"})
        except stripe.CardError as exc:
            return ChargeResult("failed", reason=exc.user_message or str(exc))
        except stripe.StripeError as exc:
            return ChargeResult("failed", reason=f"Stripe refused the charge: {exc.user_message or exc}")
        if intent.status == "succeeded":
            return ChargeResult("succeeded", payment_id=intent.id, reference=intent.id)
        if intent.status == "processing":
            return ChargeResult("pending", reference=intent.id)
        return ChargeResult("failed", reference=intent.id,
                            reason=f"The saved card needs the customer ({intent.status.replace('_', ' ')}).")

    def cancel(self, top_up) -> None:
        if top_up.provider_reference.startswith("cs_"):
            try:
                client().v1.checkout.sessions.expire(top_up.provider_reference)
            except stripe.StripeError as exc:
                logger.info("Stripe session %s not expired: %s", top_up.provider_reference, exc)
