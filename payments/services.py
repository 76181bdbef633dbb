"""The top-up state machine: create, settle exactly once, fail, cancel, expire; payments recorded by finance.

    pending --success--> paid          (the net amount granted, invoice number assigned, once)
    pending --failure--> failed --success--> paid   (a retried attempt of the same checkout paid)
    pending --cancel---> cancelled     (by the buyer; a later success is recorded, flagged for refund)
    pending --expiry---> expired       (by the beat job; likewise)

Every transition runs on the locked top-up row in one transaction; provider events are stored once per
event id, and payments once per provider payment id, so duplicates and late or out-of-order events
change nothing more. The money moves through `ledger.services.purchases`.
"""

import logging
import uuid
from datetime import datetime
from decimal import Decimal

from celery import shared_task
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from stdnum.exceptions import ValidationError as NumberError
from stdnum.in_ import gstin

from ledger.errors import IdempotencyConflict, InvalidOperation
from ledger.models import Account, BalanceMode, IdempotencyRecord, Transaction
from ledger.money import Actor, to_amount
from ledger.services import invoice_payment_record, purchase_settle
from ledger.services.idempotency import check_key, claim_key, request_fingerprint
from ratecards.countries import is_country

from . import notify, providers
from .conf import pending_ttl, plain, seller, states
from .errors import TopUpNotPending
from .invoices import invoice_number_next
from .models import AutoRecharge, Payment, PaymentStatus, Provider, ProviderEvent, TopUp, TopUpStatus
from .pricing import quote
from .providers.base import Event

logger = logging.getLogger(__name__)

CREATE_OPERATION = "top_up_create"
CANCEL_OPERATION = "top_up_cancel"
BILLING_FIELDS = ("name", "address", "country", "state", "tax_id", "email")


def provider_actor(provider: str) -> Actor:
    """The ledger actor of events a provider sends (recorded on the purchase transaction)."""
    return Actor(service=f"payments:{provider}")


# --- billing details and providers --------------------------------------------------------------------


def billing_clean(billing: dict) -> dict:
    """Validated billing details: name, address, ISO country; for India a state and an optional GSTIN
    registered in that state. Errors are keyed `billing.<field>`."""
    data = {name: str(billing.get(name) or "").strip() for name in BILLING_FIELDS}
    data["country"], data["state"], data["tax_id"] = (data["country"].upper(), data["state"].upper(),
                                                      data["tax_id"].upper().replace(" ", ""))
    data["state"] = data["state"].removeprefix(f"{data['country']}-")
    errors: dict[str, list[str]] = {}
    for name, label in (("name", "name"), ("address", "address"), ("country", "country")):
        if not data[name]:
            errors[f"billing.{name}"] = [f"Enter the billing {label}."]
    if len(data["name"]) > 200:
        errors["billing.name"] = ["At most 200 characters."]
    if data["country"] and not is_country(data["country"]):
        errors["billing.country"] = [f"{data['country']!r} is not an ISO 3166-1 alpha-2 country code."]
    if data["country"] == "IN":
        if not data["state"]:
            errors["billing.state"] = ["Choose the state (GST depends on it)."]
        elif data["state"] not in states("IN"):
            errors["billing.state"] = [f"{data['state']!r} is not an Indian state or union territory code."]
    elif data["state"] and data["country"] and data["state"] not in states(data["country"]):
        errors["billing.state"] = [f"{data['state']!r} is not a subdivision of {data['country']}."]
    if data["tax_id"] and data["country"] == "IN":
        try:
            data["tax_id"] = gstin.validate(data["tax_id"])
            registered = plain(gstin.info(data["tax_id"])["state"]).lower()
            chosen = states("IN").get(data["state"], "").lower()
            if chosen and registered in {name.lower() for name in states("IN").values()} and registered != chosen:
                errors["billing.tax_id"] = [f"This GSTIN is registered in {registered.title()}, not in "
                                            f"{chosen.title()}."]
        except NumberError:
            errors["billing.tax_id"] = ["Enter a valid 15-character GSTIN (e.g. 29AAACB1234C1Z5)."]
    elif len(data["tax_id"]) > 20:
        errors["billing.tax_id"] = ["At most 20 characters."]
    if data["email"]:
        try:
            validate_email(data["email"])
        except ValidationError:
            errors["billing.email"] = ["Enter a valid email address."]
    if errors:
        raise InvalidOperation(errors=errors)
    return data


def provider_choose(currency: str, country: str, requested: str | None = None, *, offline: bool = True):
    """The provider of a new top-up: the requested one if it serves this currency/country, else the first."""
    choices = providers.available(currency, country, include_offline=offline)
    if not choices:
        raise InvalidOperation(f"No payment provider serves {currency} for buyers in {country}.",
                               errors={"provider": [f"No payment provider serves {currency} in {country}."]})
    if not requested:
        return choices[0]
    for provider in choices:
        if provider.name == requested:
            return provider
    raise InvalidOperation(errors={"provider": [
        f"Choose one of: {', '.join(provider.name for provider in choices)}."]})


# --- create ---------------------------------------------------------------------------------------------


def _replay_top_up(caller: str, key: str, fingerprint: str, operation: str = "") -> TopUp:
    record = IdempotencyRecord.objects.get(caller=caller, key=key)
    if record.operation != (operation or CREATE_OPERATION) or record.fingerprint != fingerprint:
        raise IdempotencyConflict()
    top_up = TopUp.objects.select_related("account__organization").get(pk=record.result_id)
    top_up.replayed = True
    return top_up


def top_up_create(*, actor: Actor, account: Account, amount: Decimal | str, billing: dict,
                  provider: str | None = None, base_url: str, return_url: str = "", cancel_url: str = "",
                  idempotency_key: str | None = None, fingerprint: str | None = None,
                  at: datetime | None = None) -> TopUp:
    """Start a purchase: check limits, compute tax, open the provider's checkout; the top-up is pending.

    Refused for a shared-balance subaccount, outside the currency's limits, or without a provider for
    the currency. The provider is called inside the transaction, so if it fails nothing is left
    behind and a retry with the same idempotency key runs again.
    """
    if account.balance_mode != BalanceMode.OWN:
        raise InvalidOperation(f"{account.name} is a shared-balance subaccount and holds no funds: buy credits "
                               "for the master account.",
                               errors={"account": ["Shared-balance subaccounts hold no funds."]})
    organization = account.organization
    currency = organization.currency
    details = billing_clean(billing)
    priced = quote(currency=currency, amount=amount, country=details["country"], state=details["state"])
    chosen = provider_choose(currency, details["country"], provider)
    at = at or timezone.now()
    if idempotency_key:
        check_key(idempotency_key)
    if fingerprint is None:
        fingerprint = request_fingerprint(CREATE_OPERATION, {"account": account, "amount": priced.amount,
                                                             "billing": details, "provider": chosen.name})

    def work() -> TopUp:
        top_up = TopUp(
            id=uuid.uuid4(), organization=organization, account=account, amount=priced.amount, tax=priced.tax,
            total=priced.total, currency=currency, tax_lines=[line.as_dict() for line in priced.tax_lines],
            billing_name=details["name"], billing_address=details["address"], billing_country=details["country"],
            billing_state=details["state"], billing_tax_id=details["tax_id"], billing_email=details["email"],
            provider=chosen.name, created_at=at, expires_at=at + pending_ttl(chosen.name),
            created_by=actor.user, created_by_service="" if actor.user is not None else actor.label)
        top_up.save(force_insert=True)
        def page(url: str) -> str:  # where the provider sends the buyer back, naming the top-up
            return f"{url}{'&' if '?' in url else '?'}top_up={top_up.pk}" if url else base_url

        checkout = chosen.start_checkout(top_up, base_url=base_url, return_url=page(return_url),
                                         cancel_url=page(cancel_url or return_url))
        top_up.provider_reference, top_up.checkout_url = checkout.reference, checkout.url
        top_up.save(update_fields=["provider_reference", "checkout_url"])
        return top_up

    with transaction.atomic(durable=True):
        if not idempotency_key:
            return work()
        record_id = claim_key(actor.caller, idempotency_key, CREATE_OPERATION, fingerprint)
        if record_id is None:
            return _replay_top_up(actor.caller, idempotency_key, fingerprint)
        top_up = work()
        IdempotencyRecord.objects.filter(pk=record_id).update(result_model="topup", result_id=str(top_up.pk))
        return top_up


# --- settle, fail, cancel, expire ---------------------------------------------------------------------


def _locked(top_up_id) -> TopUp | None:
    return (TopUp.objects.select_for_update(of=("self",)).select_related("account__organization", "organization")
            .filter(pk=top_up_id).first())


def _settle(top_up: TopUp, *, provider: str, payment_id: str, actor: Actor, at: datetime) -> None:
    """Grant and invoice a locked pending (or failed) top-up: invoice number, ledger entries, payment row."""
    the_seller = seller()
    number = invoice_number_next(seller=the_seller, at=at)
    txn = purchase_settle(
        actor=actor, account=top_up.account, amount=top_up.amount,
        tax_lines=[(line["name"], line["amount"]) for line in top_up.tax_lines], reference=number,
        memo=f"Top-up {top_up.pk} paid through {Provider(provider).label}",
        metadata={"top_up": str(top_up.pk), "provider": provider, "payment_id": payment_id},
        idempotency_key=f"top-up:{top_up.pk}", at=at)
    top_up.status, top_up.paid_at, top_up.transaction = TopUpStatus.PAID, at, txn
    top_up.invoice_number, top_up.invoice_date = number, the_seller.local_date(at)
    top_up.seller_code, top_up.seller = the_seller.code, the_seller.as_dict()
    top_up.provider_payment_id = payment_id
    top_up.save(update_fields=["status", "paid_at", "transaction", "invoice_number", "invoice_date", "seller_code",
                               "seller", "provider_payment_id"])
    Payment.objects.create(top_up=top_up, organization=top_up.organization, provider=provider,
                           provider_payment_id=payment_id, amount=top_up.total, currency=top_up.currency,
                           status=PaymentStatus.APPLIED, received_at=at, recorded_by=actor.user)
    transaction.on_commit(lambda: notify.top_up_paid_notify_task.delay(str(top_up.pk)))


def _refund_due(top_up: TopUp, *, provider: str, payment_id: str, amount: Decimal, currency: str, at: datetime,
                why: str, actor: Actor) -> Payment:
    payment = Payment.objects.create(top_up=top_up, organization=top_up.organization, provider=provider,
                                     provider_payment_id=payment_id, amount=amount, currency=currency or top_up.currency,
                                     status=PaymentStatus.REFUND_DUE, received_at=at, note=why[:255],
                                     recorded_by=actor.user)
    logger.warning("Payment %s for top-up %s is to be refunded: %s", payment_id, top_up.pk, why)
    transaction.on_commit(lambda: notify.refund_due_notify_task.delay(payment.pk))
    return payment


def _apply_success(top_up: TopUp, event: Event, *, provider: str, actor: Actor, at: datetime) -> str:
    payment_id = event.payment_id or event.event_id
    if Payment.objects.filter(provider=provider, provider_payment_id=payment_id).exists():
        return "duplicate payment"
    amount = top_up.total if event.amount is None else event.amount
    currency = event.currency or top_up.currency
    if amount != top_up.total or currency != top_up.currency:
        _refund_due(top_up, provider=provider, payment_id=payment_id, amount=amount, currency=currency, at=at,
                    actor=actor, why=f"Paid {amount} {currency} for a top-up of {top_up.total} {top_up.currency}.")
        return "refund due: amount differs"
    if top_up.status in (TopUpStatus.PENDING, TopUpStatus.FAILED):
        _settle(top_up, provider=provider, payment_id=payment_id, actor=actor, at=at)
        return "paid"
    _refund_due(top_up, provider=provider, payment_id=payment_id, amount=amount, currency=currency, at=at, actor=actor,
                why=f"Paid after the top-up was {top_up.status}" + (
                    f" with payment {top_up.provider_payment_id}" if top_up.status == TopUpStatus.PAID else "") + ".")
    return f"refund due: top-up {top_up.status}"


def _fail(top_up: TopUp, reason: str, at: datetime) -> str:
    if top_up.status != TopUpStatus.PENDING:
        return f"ignored: top-up {top_up.status}"
    top_up.status, top_up.closed_at, top_up.failure_reason = TopUpStatus.FAILED, at, reason[:255]
    top_up.save(update_fields=["status", "closed_at", "failure_reason"])
    return "failed"


def payment_event_process(*, provider: str, event: Event, at: datetime | None = None) -> str:
    """Apply one verified provider event exactly once; returns what it did (for logs and tests).

    The event is stored first (one row per provider and event id): a repeat waits for the first to
    commit and then changes nothing. Unknown top-ups and ignored event types are stored too.
    """
    at = at or timezone.now()
    actor = provider_actor(provider)
    with transaction.atomic(durable=True):
        try:
            with transaction.atomic():
                stored = ProviderEvent.objects.create(provider=provider, event_id=event.event_id[:255],
                                                      type=event.type[:64], payload=event.payload, received_at=at)
        except IntegrityError:
            return "duplicate event"
        top_up = None
        if event.top_up_id:
            try:
                top_up = _locked(uuid.UUID(str(event.top_up_id)))
            except ValueError:
                top_up = None
        if top_up is None and event.reference:
            found = TopUp.objects.filter(provider=provider, provider_reference=event.reference).values("pk").first()
            top_up = _locked(found["pk"]) if found else None
        if top_up is None or top_up.provider != provider:
            outcome = "unknown top-up"
        elif event.outcome == "succeeded":
            outcome = _apply_success(top_up, event, provider=provider, actor=actor, at=at)
        elif event.outcome == "failed":
            outcome = _fail(top_up, event.reason or "The payment failed.", at)
        else:
            outcome = "ignored"
        stored.top_up, stored.outcome = top_up, outcome
        stored.save(update_fields=["top_up", "outcome"])
        if event.saved_method and top_up is not None and top_up.provider == provider \
                and top_up.status == TopUpStatus.PAID:
            _payment_method_save(top_up, provider, *event.saved_method)
        return outcome


def _payment_method_save(top_up: TopUp, provider: str, customer: str, payment_method: str) -> None:
    """The buyer let the provider keep the card they paid with: the account's auto-recharge on that provider
    charges it from now on, switched on and armed again (a card declined earlier had switched it off)."""
    rule = AutoRecharge.objects.select_for_update().filter(account_id=top_up.account_id, provider=provider).first()
    if rule is None:
        return
    rule.customer_reference, rule.payment_method = customer[:255], payment_method[:255]
    rule.enabled, rule.disabled_reason, rule.armed = True, "", True
    rule.save(update_fields=["customer_reference", "payment_method", "enabled", "disabled_reason", "armed",
                             "updated_at"])
    logger.info("Auto-recharge of %s now charges the saved %s method %s", top_up.account_id, provider,
                payment_method)


def top_up_cancel(*, actor: Actor, top_up: TopUp, idempotency_key: str | None = None,
                  at: datetime | None = None) -> TopUp:
    """Cancel a pending top-up (the buyer changed their mind); anything else is TopUpNotPending.

    With `idempotency_key`, a retry of the same cancel returns the cancelled top-up (marked `replayed`)
    instead of TopUpNotPending; the key used for another request is IdempotencyConflict.
    """
    at = at or timezone.now()
    fingerprint = request_fingerprint(CANCEL_OPERATION, {"top_up": top_up})
    if idempotency_key:
        check_key(idempotency_key)
    with transaction.atomic(durable=True):
        if idempotency_key:
            record_id = claim_key(actor.caller, idempotency_key, CANCEL_OPERATION, fingerprint)
            if record_id is None:
                return _replay_top_up(actor.caller, idempotency_key, fingerprint, CANCEL_OPERATION)
            IdempotencyRecord.objects.filter(pk=record_id).update(result_model="topup", result_id=str(top_up.pk))
        locked = _locked(top_up.pk)
        if locked.status != TopUpStatus.PENDING:
            raise TopUpNotPending(f"The top-up is {locked.status}: only a pending top-up can be cancelled.")
        locked.status, locked.closed_at = TopUpStatus.CANCELLED, at
        locked.failure_reason = f"Cancelled by {actor.label}."[:255]
        locked.save(update_fields=["status", "closed_at", "failure_reason"])
        transaction.on_commit(lambda: provider_checkout_close.delay(str(locked.pk)))
    return locked


def top_ups_expire(*, at: datetime | None = None) -> int:
    """Expire pending top-ups whose time is up (the beat job); a row being settled right now is skipped."""
    at = at or timezone.now()
    count = 0
    due = TopUp.objects.filter(status=TopUpStatus.PENDING, expires_at__lte=at).values_list("pk", flat=True)
    for top_up_id in list(due[:5000]):
        with transaction.atomic(durable=True):
            locked = (TopUp.objects.select_for_update(skip_locked=True)
                      .filter(pk=top_up_id, status=TopUpStatus.PENDING, expires_at__lte=at).first())
            if locked is None:
                continue
            locked.status, locked.closed_at = TopUpStatus.EXPIRED, at
            locked.failure_reason = "No payment arrived in time."
            locked.save(update_fields=["status", "closed_at", "failure_reason"])
            count += 1
    return count


# --- payments recorded by finance -----------------------------------------------------------------------


def bank_payment_record(*, actor: Actor, top_up: TopUp, reference: str, amount: Decimal | str,
                        received_on=None, at: datetime | None = None) -> TopUp:
    """Finance records a bank transfer or purchase order payment against a top-up: it settles like a
    provider's success event (once; an amount that differs, or a top-up no longer pending, is kept
    as a payment to refund)."""
    amount = to_amount(amount)
    reference = reference.strip()
    if not reference:
        raise InvalidOperation(errors={"reference": ["Enter the bank or purchase order reference."]})
    if Payment.objects.filter(provider=Provider.BANK_TRANSFER, provider_payment_id=reference).exists():
        raise InvalidOperation(errors={"reference": ["A payment with this reference is already recorded."]})
    at = at or timezone.now()
    try:
        return _bank_payment_apply(actor=actor, top_up=top_up, reference=reference, amount=amount,
                                   received_on=received_on, at=at)
    except IntegrityError:  # the same reference recorded at the same moment by someone else
        raise InvalidOperation(errors={"reference": ["A payment with this reference is already recorded."]})


def _bank_payment_apply(*, actor, top_up, reference, amount, received_on, at) -> TopUp:
    with transaction.atomic(durable=True):
        locked = _locked(top_up.pk)
        if locked.status not in (TopUpStatus.PENDING, TopUpStatus.FAILED):
            raise TopUpNotPending(f"The top-up is {locked.status}: record this payment as a refund instead.")
        if amount != locked.total:
            raise InvalidOperation(errors={"amount": [
                f"The top-up's total is {locked.total.normalize():f} {locked.currency}: record the amount "
                "received for it exactly."]})
        event = Event(event_id=f"bank:{reference}", type="bank_transfer.recorded", outcome="succeeded",
                      payload={"reference": reference, "received_on": str(received_on or at.date())},
                      top_up_id=str(locked.pk), payment_id=reference, amount=amount, currency=locked.currency)
        _apply_success(locked, event, provider=Provider.BANK_TRANSFER, actor=actor, at=at)
        return locked


def postpaid_payment_record(*, actor: Actor, invoice: Transaction, reference: str, amount: Decimal | str,
                            received_on=None, idempotency_key: str | None = None) -> Payment:
    """Finance records a payment received against a postpaid invoice (clears receivables)."""
    reference = reference.strip()
    if Payment.objects.filter(provider=Provider.BANK_TRANSFER, provider_payment_id=reference).exists():
        raise InvalidOperation(errors={"reference": ["A payment with this reference is already recorded."]})
    with transaction.atomic(durable=True):
        txn = invoice_payment_record(actor=actor, invoice=invoice, amount=amount, reference=reference,
                                     received_on=received_on, memo=f"Payment of invoice {invoice.period}",
                                     idempotency_key=idempotency_key)
        return Payment.objects.create(invoice=invoice, transaction=txn, organization_id=invoice.organization_id,
                                      provider=Provider.BANK_TRANSFER, provider_payment_id=reference,
                                      amount=txn.amount, currency=txn.currency, status=PaymentStatus.APPLIED,
                                      received_at=txn.created_at, recorded_by=actor.user,
                                      note=f"Invoice {invoice.period}")


def payment_refunded_mark(*, actor: Actor, payment: Payment, at: datetime | None = None) -> Payment:
    """Finance marks a payment flagged for refund as refunded (after refunding it at the provider)."""
    with transaction.atomic(durable=True):
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        if locked.status != PaymentStatus.REFUND_DUE:
            raise InvalidOperation(errors={"status": ["Only a payment flagged for refund can be marked refunded."]})
        locked.status, locked.refunded_at = PaymentStatus.REFUNDED, at or timezone.now()
        locked.note = f"{locked.note} Refunded by {actor.label}."[:255]
        locked.save(update_fields=["status", "refunded_at", "note"])
        return locked


@shared_task(name="payments.tasks.provider_checkout_close")
def provider_checkout_close(top_up_id: str) -> None:
    """Close the provider's checkout of a cancelled or expired top-up (best effort)."""
    top_up = TopUp.objects.get(pk=top_up_id)
    provider = providers.get(top_up.provider)
    if provider is not None and provider.is_configured():
        provider.cancel(top_up)
