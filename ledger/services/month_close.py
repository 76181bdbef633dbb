"""Postpaid month close: at each local month start, what an account owed moves to an invoice and its balance returns to zero."""

from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from ..locks import lock_account
from ..models import (
    ZERO,
    Account,
    BalanceMode,
    Organization,
    PaymentScheme,
    Posting,
    SystemAccount,
    Transaction,
    TransactionKind,
)
from ..money import SYSTEM, Actor
from .book import Book


def billing_period(organization: Organization, at: datetime) -> str:
    """The month that closed at the last local month start before `at` (YYYY-MM)."""
    local = at.astimezone(organization.tz)
    previous = local.replace(day=1) - timedelta(days=1)
    return f"{previous.year:04d}-{previous.month:02d}"


def local_month_start(organization: Organization, at: datetime) -> datetime:
    """The start of the org's current local month (in its timezone) as of `at`."""
    return at.astimezone(organization.tz).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def amount_to_invoice(account: Account, period: str, month_start: datetime) -> Decimal:
    """What closing `period` bills on an account: what it owed when the month ended, capped by what it owes now.

    Zero when it owes nothing now or the period is already invoiced.
    """
    if account.balance >= 0 or Transaction.objects.filter(account=account, kind=TransactionKind.INVOICE,
                                                           period=period).exists():
        return ZERO
    owed_at_month_start = -(Posting.objects.filter(account=account, created_at__lt=month_start)
                            .order_by("-created_at", "-id").values_list("balance_after", flat=True).first() or ZERO)
    return max(ZERO, min(owed_at_month_start, -account.balance))


def month_close_due(organization: Organization, at: datetime) -> bool:
    """Whether closing the org's last local month would invoice anything (postpaid orgs only)."""
    if organization.payment_scheme != PaymentScheme.POSTPAID:
        return False
    period, month_start = billing_period(organization, at), local_month_start(organization, at)
    return any(amount_to_invoice(account, period, month_start) > 0
               for account in organization.accounts.filter(balance_mode=BalanceMode.OWN))


def postpaid_month_close(*, organization: Organization, at: datetime | None = None,
                         actor: Actor = SYSTEM) -> list[Transaction]:
    """Move a postpaid org's unbilled usage to an invoice per account; balances return to zero.

    The period is the local month before `at` in the org's timezone; closing twice changes nothing.
    """
    at = at or timezone.now()
    if organization.payment_scheme != PaymentScheme.POSTPAID:
        return []
    period, month_start = billing_period(organization, at), local_month_start(organization, at)
    invoices = []
    for account_id in organization.accounts.filter(balance_mode=BalanceMode.OWN).values_list("pk", flat=True):
        with transaction.atomic(durable=True):
            locked = lock_account(account_id)
            amount = amount_to_invoice(locked, period, month_start)
            if amount <= 0:
                continue
            book = Book(at, "postpaid_month_close")
            entry = book.add(account=locked, kind=TransactionKind.INVOICE, amount=amount, signed=amount,
                             system_code=SystemAccount.Code.RECEIVABLES, actor=actor, period=period,
                             memo=f"Usage invoiced for {period}", metadata={"month_start": month_start.isoformat()})
            book.flush(locked)
            invoices.append(entry.transaction)
    return invoices
