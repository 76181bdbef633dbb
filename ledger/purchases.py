"""Money moves of bought credits: a settled top-up (credits + tax against payments clearing) and a payment
received against a postpaid invoice.

Like every ledger service these are keyword-only, take the actor, lock the account row, write balanced
transactions and honour an idempotency key. They use a plain atomic block so that a caller's settling
transaction (the top-up row, its invoice number) commits together with the money, or not at all.
"""

from datetime import datetime
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Sum
from django.db.models.fields.json import KT

from .errors import InvalidOperation
from .models import (
    ZERO,
    Account,
    IdempotencyRecord,
    LotSource,
    Posting,
    SystemAccount,
    Transaction,
    TransactionKind,
)
from .services import (
    Actor,
    _actor_fields,
    _Book,
    _check_key,
    _claim_key,
    _Entry,
    _Funds,
    _replay,
    _require_funds_holder,
    _stamp,
    lock_account,
    lot_expires_at,
    request_fingerprint,
    to_amount,
)


def _run_once(*, actor: Actor, key: str | None, operation: str, params: dict, work) -> Transaction:
    """Run `work` atomically (joining the caller's transaction if any), at most once per (caller, key)."""
    durable = not connection.in_atomic_block
    if not key:
        with transaction.atomic(durable=durable):
            return work()
    _check_key(key)
    fingerprint = request_fingerprint(operation, params)
    with transaction.atomic(durable=durable):
        record_id = _claim_key(actor.caller, key, operation, fingerprint)
        if record_id is None:
            return _replay(IdempotencyRecord.objects.get(caller=actor.caller, key=key), operation, fingerprint)
        result = work()
        IdempotencyRecord.objects.filter(pk=record_id).update(result_model="transaction", result_id=str(result.pk))
        return result


def _tax_amounts(tax_lines) -> list[tuple[str, Decimal]]:
    lines = []
    for index, (name, amount) in enumerate(tax_lines):
        if not str(name).strip():
            raise InvalidOperation(errors={f"tax_lines.{index}.name": ["A tax line needs a name."]})
        lines.append((str(name), to_amount(amount, field=f"tax_lines.{index}.amount", allow_zero=True)))
    return lines


def purchase_settle(*, actor: Actor, account: Account, amount: Decimal | str, tax_lines=(), reference: str = "",
                    memo: str = "", metadata: dict | None = None, idempotency_key: str | None = None,
                    at: datetime | None = None) -> Transaction:
    """Book a paid purchase: the net `amount` as a `purchase` lot, the tax as tax payable, the total as cleared.

    Postings: the account +amount (with balance_after), payments clearing -(amount + tax), tax payable
    +tax per tax line: balanced. The lot expires after the org's purchase expiry (default never) and
    repays a negative balance first. `tax_lines` are (name, amount) pairs. Returns the purchase
    transaction; `transaction.lot` is the new lot.
    """
    amount = to_amount(amount)
    taxes = _tax_amounts(tax_lines)
    _require_funds_holder(account)
    total = amount + sum((tax for _, tax in taxes), ZERO)

    def work():
        locked = lock_account(account.pk)
        organization = locked.organization
        currency = organization.currency
        book = _Book(_stamp(at))
        expires_at = lot_expires_at(book.at, organization.purchase_expires_in, organization.tz)
        lot = _Funds(locked, book, actor).receive(amount, expires_at=expires_at, source=LotSource.PURCHASE,
                                                  actor=actor, purchase_order=reference, comment=memo)
        locked.balance += amount
        txn = Transaction(
            organization_id=organization.pk, account=locked, kind=TransactionKind.PURCHASE, currency=currency,
            amount=amount, created_at=book.at, lot=lot, reference=reference, memo=memo,
            metadata={**(metadata or {}), "expires_in": organization.purchase_expires_in, "total": str(total),
                      "tax_lines": [{"name": name, "amount": str(tax)} for name, tax in taxes]},
            **_actor_fields(actor))
        postings = [
            Posting(account=locked, amount=amount, balance_after=locked.balance, created_at=book.at),
            Posting(system_account=book.system(SystemAccount.Code.PAYMENTS_CLEARING, currency), amount=-total,
                    created_at=book.at),
        ]
        postings += [Posting(system_account=book.system(SystemAccount.Code.TAX_PAYABLE, currency), amount=tax,
                             created_at=book.at) for _, tax in taxes if tax > 0]
        book.entries.append(_Entry(txn, postings))
        book.flush(locked)
        return txn

    return _run_once(actor=actor, key=idempotency_key, operation="purchase_settle", work=work,
                     params={"account": account, "amount": amount, "tax_lines": taxes, "reference": reference})


def invoice_outstanding(invoice: Transaction) -> Decimal:
    """What is still owed on a postpaid invoice: its amount less the payments recorded against it."""
    paid = (Transaction.objects.filter(account_id=invoice.account_id, kind=TransactionKind.PAYMENT)
            .annotate(invoice_id=KT("metadata__invoice")).filter(invoice_id=str(invoice.pk))
            .aggregate(total=Sum("amount"))["total"]) or ZERO
    return invoice.amount - paid


def invoice_payment_record(*, actor: Actor, invoice: Transaction, amount: Decimal | str, reference: str,
                           received_on=None, memo: str = "", idempotency_key: str | None = None,
                           at: datetime | None = None) -> Transaction:
    """Book a payment received (bank transfer, purchase order) against a postpaid invoice.

    Postings: receivables +amount (the debt the invoice booked is cleared), payments clearing -amount.
    The customer's balance does not move: the invoice already returned it to zero. At most the
    outstanding amount; the invoiced account's row lock serializes payments of one invoice.
    """
    amount = to_amount(amount)
    if invoice.kind != TransactionKind.INVOICE:
        raise InvalidOperation(errors={"invoice": ["Payments are recorded against postpaid invoices only."]})
    if not reference.strip():
        raise InvalidOperation(errors={"reference": ["Enter the bank or purchase order reference."]})

    def work():
        locked = lock_account(invoice.account_id)
        outstanding = invoice_outstanding(invoice)
        if amount > outstanding:
            raise InvalidOperation(f"At most {outstanding} is outstanding on this invoice.",
                                   errors={"amount": [f"At most {outstanding} is outstanding on this invoice."]})
        currency = locked.organization.currency
        book = _Book(_stamp(at))
        txn = Transaction(
            organization_id=locked.organization_id, account=locked, kind=TransactionKind.PAYMENT, currency=currency,
            amount=amount, created_at=book.at, reference=reference, memo=memo, period=invoice.period,
            metadata={"invoice": str(invoice.pk), "received_on": str(received_on or book.at.date())},
            **_actor_fields(actor))
        book.entries.append(_Entry(txn, [
            Posting(system_account=book.system(SystemAccount.Code.RECEIVABLES, currency), amount=amount,
                    created_at=book.at),
            Posting(system_account=book.system(SystemAccount.Code.PAYMENTS_CLEARING, currency), amount=-amount,
                    created_at=book.at),
        ]))
        book.flush()
        return txn

    return _run_once(actor=actor, key=idempotency_key, operation="invoice_payment_record", work=work,
                     params={"invoice": invoice, "amount": amount, "reference": reference,
                             "received_on": str(received_on or "")})
