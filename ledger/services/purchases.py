"""Money moves of bought credits: a settled top-up (credits + tax against payments clearing) and a payment
received against a postpaid invoice.

Like every ledger service these are keyword-only, take the actor, lock the account row, write balanced
transactions and honour an idempotency key. They join a caller's open transaction, so that a caller's
settling rows (the top-up row, its invoice number) commit together with the money, or not at all.
"""

from datetime import datetime
from decimal import Decimal

from django.db.models import Sum
from django.db.models.fields.json import KT

from ..errors import InvalidOperation
from ..locks import lock_account
from ..models import ZERO, Account, LotSource, Posting, SystemAccount, Transaction, TransactionKind
from ..money import Actor, to_amount
from .book import Book, Entry, stamp
from .idempotency import run_idempotent
from .limits import require_funds_holder
from .lots import Funds, lot_expires_at


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
    require_funds_holder(account)
    total = amount + sum((tax for _, tax in taxes), ZERO)

    def work():
        locked = lock_account(account.pk)
        organization = locked.organization
        currency = organization.currency
        book = Book(stamp(at), "purchase_settle")
        expires_at = lot_expires_at(book.at, organization.purchase_expires_in, organization.tz)
        lot = Funds(locked, book, actor).receive(amount, expires_at=expires_at, source=LotSource.PURCHASE,
                                                 actor=actor, purchase_order=reference, comment=memo)
        locked.balance += amount
        txn = Transaction(
            organization_id=organization.pk, account=locked, kind=TransactionKind.PURCHASE, currency=currency,
            amount=amount, created_at=book.at, lot=lot, reference=reference, memo=memo,
            metadata={**(metadata or {}), "expires_in": organization.purchase_expires_in, "total": str(total),
                      "tax_lines": [{"name": name, "amount": str(tax)} for name, tax in taxes]},
            **actor.actor_fields())
        postings = [
            Posting(account=locked, amount=amount, balance_after=locked.balance, created_at=book.at),
            Posting(system_account=book.system(SystemAccount.Code.PAYMENTS_CLEARING, currency), amount=-total,
                    created_at=book.at),
        ]
        postings += [Posting(system_account=book.system(SystemAccount.Code.TAX_PAYABLE, currency), amount=tax,
                             created_at=book.at) for _, tax in taxes if tax > 0]
        book.entries.append(Entry(txn, postings))
        book.flush(locked)
        return txn

    return run_idempotent(actor=actor, key=idempotency_key, operation="purchase_settle", work=work, joins_caller=True,
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
        book = Book(stamp(at), "invoice_payment_record")
        txn = Transaction(
            organization_id=locked.organization_id, account=locked, kind=TransactionKind.PAYMENT, currency=currency,
            amount=amount, created_at=book.at, reference=reference, memo=memo, period=invoice.period,
            metadata={"invoice": str(invoice.pk), "received_on": str(received_on or book.at.date())},
            **actor.actor_fields())
        book.entries.append(Entry(txn, [
            Posting(system_account=book.system(SystemAccount.Code.RECEIVABLES, currency), amount=amount,
                    created_at=book.at),
            Posting(system_account=book.system(SystemAccount.Code.PAYMENTS_CLEARING, currency), amount=-amount,
                    created_at=book.at),
        ]))
        book.flush()
        return txn

    return run_idempotent(actor=actor, key=idempotency_key, operation="invoice_payment_record", work=work,
                          joins_caller=True, params={"invoice": invoice, "amount": amount, "reference": reference,
                                                     "received_on": str(received_on or "")})
