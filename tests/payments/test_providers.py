"""Stripe and Razorpay through their official SDKs: outbound calls go to a local server that records them and
answers like the provider's documented responses; webhooks are signed with a test secret and verified by the
SDKs' own code (stripe.Webhook.construct_event, razorpay's Utility)."""

import hashlib
import hmac
import json
import time
from base64 import b64decode
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from ledger import services as ledger
from ledger.models import Transaction
from payments import auto_recharge, providers
from payments.errors import ProviderUnavailable
from payments.models import AutoRecharge, Payment, TopUp, TopUpStatus
from payments.providers import sandbox

from .conftest import BILLING_MH, BILLING_US
from .fake_provider import FakeProvider, serve
from .helpers import start_top_up

STRIPE_KEY, STRIPE_WEBHOOK = "sk_test_local", "whsec_test_local"
RAZORPAY_KEY, RAZORPAY_SECRET, RAZORPAY_WEBHOOK = "rzp_test_local", "rzp_secret_local", "rzp_webhook_local"


@pytest.fixture
def fake():
    provider = FakeProvider()
    server = serve(provider)
    yield provider
    server.shutdown()
    server.server_close()


@pytest.fixture
def stripe_on(settings, fake):
    settings.STRIPE_SECRET_KEY, settings.STRIPE_WEBHOOK_SECRET, settings.STRIPE_API_BASE = (
        STRIPE_KEY, STRIPE_WEBHOOK, fake.url)
    settings.PAYMENTS_SANDBOX = False
    return fake


@pytest.fixture
def razorpay_on(settings, fake):
    settings.RAZORPAY_KEY_ID, settings.RAZORPAY_KEY_SECRET, settings.RAZORPAY_WEBHOOK_SECRET = (
        RAZORPAY_KEY, RAZORPAY_SECRET, RAZORPAY_WEBHOOK)
    settings.RAZORPAY_API_BASE = fake.url
    settings.PAYMENTS_SANDBOX = False
    return fake


def stripe_session(top_up, **extra) -> dict:
    """A Checkout Session object as Stripe documents it (the fields we read)."""
    return {"id": "cs_test_a1", "object": "checkout.session", "url": "https://checkout.stripe.com/c/pay/cs_test_a1",
            "status": "open", "payment_status": "unpaid", "mode": "payment", "amount_total": 11800,
            "currency": "usd", "client_reference_id": str(top_up.pk) if top_up else None,
            "metadata": {"top_up": str(top_up.pk)} if top_up else {}, "payment_intent": None, **extra}


def stripe_signed(payload: dict, secret: str = STRIPE_WEBHOOK, at: int | None = None) -> tuple[str, str]:
    """A webhook body and its Stripe-Signature header, signed as Stripe signs (t and v1 over "t.body")."""
    body = json.dumps(payload)
    stamp = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{stamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return body, f"t={stamp},v1={digest}"


def post_webhook(provider: str, body: str, **headers):
    return APIClient().generic("POST", f"/api/v1/payments/webhooks/{provider}", body,
                               content_type="application/json", **headers)


# --- Stripe ------------------------------------------------------------------------------------------------


def test_stripe_checkout_session_is_created_through_the_sdk(usd_org, stripe_on):
    stripe_on.answer("POST", "/v1/checkout/sessions", stripe_session(None))
    top_up = start_top_up(usd_org.master_account, "118", billing={**BILLING_US, "email": "ap@globex.example"},
                          return_url="http://testserver/payments/return/")
    assert top_up.provider == "stripe" and top_up.provider_reference == "cs_test_a1"
    assert top_up.checkout_url == "https://checkout.stripe.com/c/pay/cs_test_a1"
    [request] = stripe_on.requests
    form = request.form()
    assert request.headers["Authorization"] == f"Bearer {STRIPE_KEY}"
    assert request.headers["Idempotency-Key"] == f"top-up-{top_up.pk}"
    assert form["mode"] == "payment" and form["client_reference_id"] == str(top_up.pk)
    assert form["line_items[0][price_data][unit_amount]"] == "11800"
    assert form["line_items[0][price_data][currency]"] == "usd"
    assert form["metadata[top_up]"] == str(top_up.pk) and form["customer_email"] == "ap@globex.example"
    assert form["success_url"].startswith("http://testserver/payments/return/?top_up=")


def test_stripe_refusing_the_checkout_leaves_nothing_behind(usd_org, stripe_on):
    stripe_on.answer("POST", "/v1/checkout/sessions", {"error": {"type": "invalid_request_error",
                                                                 "message": "Invalid currency"}}, status=400)
    with pytest.raises(ProviderUnavailable):
        start_top_up(usd_org.master_account, "118", billing=BILLING_US)
    assert not TopUp.objects.exists()


def test_stripe_webhook_verified_by_the_sdk_settles_once(usd_org, stripe_on):
    stripe_on.answer("POST", "/v1/checkout/sessions", stripe_session(None))
    top_up = start_top_up(usd_org.master_account, "118", billing=BILLING_US)
    event = {"id": "evt_1", "object": "event", "type": "checkout.session.completed", "api_version": "2024-06-20",
             "data": {"object": stripe_session(top_up, payment_status="paid", status="complete",
                                               payment_intent="pi_test_1")}}
    body, signature = stripe_signed(event)
    response = post_webhook("stripe", body, HTTP_STRIPE_SIGNATURE=signature)
    assert response.status_code == 200 and response.json()["outcome"] == "paid"
    top_up = TopUp.objects.get(pk=top_up.pk)
    assert top_up.status == TopUpStatus.PAID and top_up.provider_payment_id == "pi_test_1"
    # Stripe also sends payment_intent.succeeded for the same payment: nothing more happens
    intent = {"id": "evt_2", "object": "event", "type": "payment_intent.succeeded",
              "data": {"object": {"id": "pi_test_1", "object": "payment_intent", "amount": 11800,
                                  "amount_received": 11800, "currency": "usd", "metadata": {"top_up": str(top_up.pk)},
                                  "status": "succeeded"}}}
    body, signature = stripe_signed(intent)
    assert post_webhook("stripe", body, HTTP_STRIPE_SIGNATURE=signature).json()["outcome"] == "duplicate payment"
    assert Transaction.objects.filter(kind="purchase").count() == 1


@pytest.mark.parametrize("how", ["wrong secret", "stale", "tampered", "missing"])
def test_stripe_webhook_with_a_bad_signature_is_400(usd_org, stripe_on, how):
    stripe_on.answer("POST", "/v1/checkout/sessions", stripe_session(None))
    top_up = start_top_up(usd_org.master_account, "118", billing=BILLING_US)
    event = {"id": "evt_1", "object": "event", "type": "checkout.session.completed",
             "data": {"object": stripe_session(top_up, payment_status="paid", payment_intent="pi_1")}}
    body, signature = stripe_signed(event, secret="whsec_other" if how == "wrong secret" else STRIPE_WEBHOOK,
                                    at=int(time.time()) - 400 if how == "stale" else None)
    if how == "tampered":
        body = body.replace('"amount_total": 11800', '"amount_total": 1')
    headers = {} if how == "missing" else {"HTTP_STRIPE_SIGNATURE": signature}
    response = post_webhook("stripe", body, **headers)
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    assert TopUp.objects.get(pk=top_up.pk).status == TopUpStatus.PENDING


def test_stripe_expired_session_fails_the_top_up(usd_org, stripe_on):
    stripe_on.answer("POST", "/v1/checkout/sessions", stripe_session(None))
    top_up = start_top_up(usd_org.master_account, "118", billing=BILLING_US)
    event = {"id": "evt_9", "object": "event", "type": "checkout.session.expired",
             "data": {"object": stripe_session(top_up, status="expired")}}
    body, signature = stripe_signed(event)
    assert post_webhook("stripe", body, HTTP_STRIPE_SIGNATURE=signature).json()["outcome"] == "failed"
    assert TopUp.objects.get(pk=top_up.pk).failure_reason == "The checkout expired unpaid."


# --- Razorpay ----------------------------------------------------------------------------------------------


def razorpay_order(top_up_total_minor=118000) -> dict:
    return {"id": "order_test_1", "entity": "order", "amount": top_up_total_minor, "amount_paid": 0,
            "amount_due": top_up_total_minor, "currency": "INR", "receipt": "r", "status": "created", "attempts": 0,
            "notes": {}, "created_at": int(time.time())}


def razorpay_webhook(top_up, event="payment.captured", payment_id="pay_test_1", amount=118000) -> str:
    return json.dumps({"entity": "event", "account_id": "acc_test", "event": event, "contains": ["payment"],
                       "payload": {"payment": {"entity": {
                           "id": payment_id, "entity": "payment", "amount": amount, "currency": "INR",
                           "status": "captured" if event == "payment.captured" else "failed",
                           "order_id": top_up.provider_reference, "notes": {"top_up": str(top_up.pk)},
                           "error_description": None if event == "payment.captured" else "Card declined by bank"}}},
                       "created_at": int(time.time())})


def razorpay_signature(body: str, secret: str = RAZORPAY_WEBHOOK) -> str:
    return hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()


def test_razorpay_order_is_created_through_the_sdk(org, razorpay_on):
    razorpay_on.answer("POST", "/v1/orders", razorpay_order())
    top_up = start_top_up(org.master_account, "1000", billing=BILLING_MH)
    assert top_up.provider == "razorpay" and top_up.provider_reference == "order_test_1"
    assert "/payments/razorpay/" in top_up.checkout_url
    [request] = razorpay_on.requests
    assert b64decode(request.headers["Authorization"].split()[1]).decode() == f"{RAZORPAY_KEY}:{RAZORPAY_SECRET}"
    assert request.json() == {"amount": 118000, "currency": "INR", "receipt": top_up.pk.hex,
                              "notes": {"top_up": str(top_up.pk)}}


def test_razorpay_webhook_verified_by_the_sdk_settles_once(org, razorpay_on):
    razorpay_on.answer("POST", "/v1/orders", razorpay_order())
    top_up = start_top_up(org.master_account, "1000", billing=BILLING_MH)
    body = razorpay_webhook(top_up)
    headers = {"HTTP_X_RAZORPAY_SIGNATURE": razorpay_signature(body), "HTTP_X_RAZORPAY_EVENT_ID": "evt_rzp_1"}
    assert post_webhook("razorpay", body, **headers).json()["outcome"] == "paid"
    assert post_webhook("razorpay", body, **headers).json()["outcome"] == "duplicate event"
    top_up = TopUp.objects.get(pk=top_up.pk)
    assert top_up.status == TopUpStatus.PAID and top_up.provider_payment_id == "pay_test_1"
    org.master_account.refresh_from_db()
    assert org.master_account.balance == Decimal("1000")


def test_razorpay_webhook_with_a_bad_signature_is_400(org, razorpay_on):
    razorpay_on.answer("POST", "/v1/orders", razorpay_order())
    top_up = start_top_up(org.master_account, "1000", billing=BILLING_MH)
    body = razorpay_webhook(top_up)
    response = post_webhook("razorpay", body, HTTP_X_RAZORPAY_SIGNATURE=razorpay_signature(body, "wrong"))
    assert response.status_code == 400
    assert TopUp.objects.get(pk=top_up.pk).status == TopUpStatus.PENDING


def test_razorpay_failed_payment_fails_the_top_up(org, razorpay_on):
    razorpay_on.answer("POST", "/v1/orders", razorpay_order())
    top_up = start_top_up(org.master_account, "1000", billing=BILLING_MH)
    body = razorpay_webhook(top_up, event="payment.failed")
    assert post_webhook("razorpay", body, HTTP_X_RAZORPAY_SIGNATURE=razorpay_signature(body)).json()["outcome"] == \
        "failed"
    assert TopUp.objects.get(pk=top_up.pk).failure_reason == "Card declined by bank"


def test_razorpay_checkout_handler_signature_is_checked_by_the_sdk(org, razorpay_on, client):
    razorpay_on.answer("POST", "/v1/orders", razorpay_order())
    top_up = start_top_up(org.master_account, "1000", billing=BILLING_MH)
    token = sandbox.checkout_token(top_up.pk)
    url = f"/payments/razorpay/{token}/callback/"
    good = hmac.new(RAZORPAY_SECRET.encode(), b"order_test_1|pay_cb_1", hashlib.sha256).hexdigest()
    bad = client.post(url, {"razorpay_order_id": "order_test_1", "razorpay_payment_id": "pay_cb_1",
                            "razorpay_signature": "0" * 64})
    assert bad.status_code == 400 and TopUp.objects.get(pk=top_up.pk).status == TopUpStatus.PENDING
    ok = client.post(url, {"razorpay_order_id": "order_test_1", "razorpay_payment_id": "pay_cb_1",
                           "razorpay_signature": good})
    assert ok.status_code == 302
    assert TopUp.objects.get(pk=top_up.pk).status == TopUpStatus.PAID
    # the webhook for the same payment that follows changes nothing more
    body = razorpay_webhook(top_up, payment_id="pay_cb_1")
    assert post_webhook("razorpay", body, HTTP_X_RAZORPAY_SIGNATURE=razorpay_signature(body)).json()["outcome"] == \
        "duplicate payment"
    assert Payment.objects.filter(top_up=top_up).count() == 1


def test_providers_follow_the_routes_configuration(org, usd_org, settings, razorpay_on):
    settings.STRIPE_SECRET_KEY, settings.STRIPE_WEBHOOK_SECRET = STRIPE_KEY, STRIPE_WEBHOOK
    assert [p.name for p in providers.available("INR", "IN")] == ["razorpay", "stripe", "bank_transfer"]
    assert [p.name for p in providers.available("USD", "US")] == ["stripe", "bank_transfer"]
    settings.PAYMENT_ROUTES = "INR=razorpay;USD:IN=razorpay;*=stripe"
    assert [p.name for p in providers.available("USD", "IN")] == ["razorpay"]
    assert [p.name for p in providers.available("EUR", "DE")] == ["stripe"]
    settings.RAZORPAY_KEY_ID = ""
    assert [p.name for p in providers.available("INR", "IN")] == []
    settings.PAYMENTS_SANDBOX = True
    assert [p.name for p in providers.available("INR", "IN")] == ["sandbox"]


# --- saved payment methods (auto-recharge) -------------------------------------------------------------------


def stripe_intent(status="succeeded", **extra) -> dict:
    return {"id": "pi_auto_1", "object": "payment_intent", "amount": 50000, "amount_received": 50000,
            "currency": "usd", "status": status, "metadata": {}, **extra}


@pytest.fixture
def usd_rule(usd_org, stripe_on, django_capture_on_commit_callbacks):
    ledger.credits_grant(actor=ledger.SYSTEM, account=usd_org.master_account, amount="100", expires_in="never")
    auto_recharge.auto_recharge_save(
        account=usd_org.master_account, threshold=Decimal("50"), mode="fixed_amount", amount=Decimal("500"),
        provider="stripe", customer_reference="cus_test_1", payment_method="pm_card_visa", billing=BILLING_US)
    return django_capture_on_commit_callbacks


def spend_usd(account, amount, capture):
    with capture(execute=True):
        ledger.charge_create(actor=ledger.SYSTEM, account=account, channel="sms", unit_price=amount, quantity=1)


def test_stripe_auto_recharge_charges_the_saved_method_off_session(usd_org, usd_rule, stripe_on):
    stripe_on.answer("POST", "/v1/payment_intents", stripe_intent())
    spend_usd(usd_org.master_account, "60", usd_rule)  # 40 < 50
    [request] = [r for r in stripe_on.requests if r.path == "/v1/payment_intents"]
    form = request.form()
    assert (form["customer"], form["payment_method"], form["off_session"], form["confirm"], form["amount"]) == (
        "cus_test_1", "pm_card_visa", "true", "true", "50000")
    top_up = TopUp.objects.get()
    assert top_up.status == TopUpStatus.PAID and top_up.provider_payment_id == "pi_auto_1"
    usd_org.master_account.refresh_from_db()
    assert usd_org.master_account.balance == Decimal("540")


def test_stripe_declining_the_saved_card_turns_auto_recharge_off(usd_org, usd_rule, stripe_on):
    stripe_on.answer("POST", "/v1/payment_intents", {"error": {
        "type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds",
        "message": "Your card has insufficient funds."}}, status=402)
    spend_usd(usd_org.master_account, "60", usd_rule)
    assert TopUp.objects.get().status == TopUpStatus.FAILED
    rule = AutoRecharge.objects.get()
    assert not rule.enabled and "insufficient funds" in rule.disabled_reason


def test_razorpay_auto_recharge_uses_a_recurring_payment_settled_by_the_webhook(org, razorpay_on,
                                                                                django_capture_on_commit_callbacks):
    razorpay_on.answer("POST", "/v1/orders", razorpay_order(59000))
    razorpay_on.answer("POST", "/v1/payments/create/recurring", {
        "razorpay_payment_id": "pay_rec_1", "razorpay_order_id": "order_test_1", "razorpay_signature": "s"})
    ledger.credits_grant(actor=ledger.SYSTEM, account=org.master_account, amount="300", expires_in="never")
    auto_recharge.auto_recharge_save(account=org.master_account, threshold=Decimal("200"), mode="fixed_amount",
                                     amount=Decimal("500"), provider="razorpay", customer_reference="cust_1",
                                     payment_method="token_1", billing=BILLING_MH)
    with django_capture_on_commit_callbacks(execute=True):
        ledger.charge_create(actor=ledger.SYSTEM, account=org.master_account, channel="sms", unit_price="150")
    top_up = TopUp.objects.get()
    assert top_up.status == TopUpStatus.PENDING and top_up.provider_reference == "order_test_1"
    recurring = [r for r in razorpay_on.requests if r.path == "/v1/payments/create/recurring"][0].json()
    assert (recurring["customer_id"], recurring["token"], recurring["amount"], recurring["recurring"]) == (
        "cust_1", "token_1", 59000, "1")
    body = razorpay_webhook(top_up, payment_id="pay_rec_1", amount=59000)
    assert post_webhook("razorpay", body, HTTP_X_RAZORPAY_SIGNATURE=razorpay_signature(body)).json()["outcome"] == \
        "paid"


def test_a_stripe_checkout_keeps_the_card_and_the_catch_up_recharges_with_it(usd_org, usd_rule, stripe_on):
    """Declined card: auto-recharge off. The buyer pays by hand through Checkout, which (the account recharging
    through Stripe) asks Stripe to keep the card; the payment_intent.succeeded event names it, the rule
    takes it and is on again, and the catch-up job fires the recharge the account missed meanwhile."""
    stripe_on.answer("POST", "/v1/payment_intents", {"error": {
        "type": "card_error", "code": "card_declined", "message": "Your card was declined."}}, status=402)
    spend_usd(usd_org.master_account, "60", usd_rule)  # 40 < 50: fires, declined, off
    assert not AutoRecharge.objects.get().enabled
    spend_usd(usd_org.master_account, "30", usd_rule)  # 10: still below, nothing can fire
    assert TopUp.objects.count() == 1

    stripe_on.answer("POST", "/v1/checkout/sessions", stripe_session(None))
    top_up = start_top_up(usd_org.master_account, "20", billing={**BILLING_US, "email": "ap@globex.example"})
    form = [r for r in stripe_on.requests if r.path == "/v1/checkout/sessions"][0].form()
    assert form["payment_intent_data[setup_future_usage]"] == "off_session"
    assert form["customer"] == "cus_test_1" and "customer_email" not in form  # Stripe takes one or the other
    intent = {"id": "evt_pi_saved", "type": "payment_intent.succeeded", "object": "event",
              "data": {"object": stripe_intent(id="pi_manual_1", amount=2000, amount_received=2000,
                                               setup_future_usage="off_session", customer="cus_test_1",
                                               payment_method="pm_new_card", metadata={"top_up": str(top_up.pk)})}}
    body, signature = stripe_signed(intent)
    assert post_webhook("stripe", body, HTTP_STRIPE_SIGNATURE=signature).json()["outcome"] == "paid"
    rule = AutoRecharge.objects.get()
    assert (rule.enabled, rule.payment_method, rule.disabled_reason) == (True, "pm_new_card", "")

    stripe_on.answer("POST", "/v1/payment_intents", stripe_intent())
    with usd_rule(execute=True):
        assert auto_recharge.auto_recharges_catch_up() == 1
    charge = [r for r in stripe_on.requests if r.path == "/v1/payment_intents"][-1].form()
    assert charge["payment_method"] == "pm_new_card" and charge["off_session"] == "true"
    usd_org.master_account.refresh_from_db()
    assert usd_org.master_account.balance == Decimal("530")  # 10 + 20 bought by hand + 500 recharged
    with usd_rule(execute=True):
        assert auto_recharge.auto_recharges_catch_up() == 0  # above the threshold now: nothing more
    from django.conf import settings  # the beat runs it

    assert settings.CELERY_BEAT_SCHEDULE["auto-recharge-catch-up"]["task"] == "payments.tasks.auto_recharge_catch_up"


def test_a_checkout_without_a_stripe_auto_recharge_saves_no_card(usd_org, stripe_on):
    stripe_on.answer("POST", "/v1/checkout/sessions", stripe_session(None))
    start_top_up(usd_org.master_account, "20", billing={**BILLING_US, "email": "ap@globex.example"})
    form = stripe_on.requests[0].form()
    assert "payment_intent_data[setup_future_usage]" not in form and form["customer_email"] == "ap@globex.example"
