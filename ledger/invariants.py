"""Checks of the ledger invariants 1-4 of domain.md over the whole database (set-based SQL), and that the
per-account daily totals equal their postings (5)."""

from decimal import Decimal

from django.db.models import Count, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from . import daytotals
from .models import (
    QUANTUM,
    ZERO,
    Account,
    BalanceMode,
    CreditLot,
    Hold,
    HoldStatus,
    MoneyField,
    Posting,
    Traffic,
    Transaction,
)


def q(value) -> Decimal:
    """Round to the ledger's 6 places."""
    return Decimal(value).quantize(QUANTUM)


def _sum(queryset, field="amount"):
    return Coalesce(Subquery(queryset.values(field)[:1]), Value(ZERO), output_field=MoneyField())


def check_invariants(accounts=None) -> list[str]:
    """Every violation of invariants 1-5 as a sentence; an empty list means the ledger is sound.

    `accounts` (a queryset) limits the per-account checks; the transaction checks cover everything.
    """
    problems: list[str] = []
    # 1. Every transaction's postings sum to zero (and it has at least two).
    unbalanced = (Posting.objects.values("transaction_id").annotate(total=Sum("amount"), lines=Count("id"))
                  .filter(~Q(total=0) | Q(lines__lt=2)))
    for row in unbalanced[:100]:
        problems.append(f"invariant 1: transaction {row['transaction_id']} postings sum to {row['total']} "
                        f"over {row['lines']} lines")
    orphans = Transaction.objects.annotate(lines=Count("postings")).filter(lines__lt=2)
    for txn_id in orphans.values_list("pk", flat=True)[:100]:
        problems.append(f"invariant 1: transaction {txn_id} has fewer than two postings")

    accounts = Account.objects.all() if accounts is None else accounts
    posted = Posting.objects.filter(account=OuterRef("pk")).order_by().values("account").annotate(s=Sum("amount"))
    lots = CreditLot.objects.filter(account=OuterRef("pk")).order_by().values("account").annotate(s=Sum("remaining"))
    held = (Hold.objects.filter(account=OuterRef("pk"), status=HoldStatus.ACTIVE).order_by().values("account")
            .annotate(s=Sum("remaining")))
    rows = accounts.annotate(posted=_sum(posted, "s"), lots_remaining=_sum(lots, "s"), active_held=_sum(held, "s"))
    # Compared in Python after rounding to 6 places: SQLite (the zero-setup database) sums decimals as floats.
    for account in rows.iterator(chunk_size=2000):
        posted, lots_left, active_held = (q(account.posted), q(account.lots_remaining), q(account.active_held))
        # 2. Cached balance equals the sum of postings; held equals the active holds.
        if account.balance != posted:
            problems.append(f"invariant 2: account {account.pk} caches balance {account.balance} "
                            f"but its postings sum to {posted}")
        if account.held != active_held:
            problems.append(f"invariant 2: account {account.pk} caches held {account.held} "
                            f"but its active holds sum to {active_held}")
        # 3. balance = lots remaining - debt; debt only while every lot is empty; shared accounts hold nothing.
        if account.balance_mode == BalanceMode.SHARED:
            if posted or lots_left:
                problems.append(f"invariant 3: shared subaccount {account.pk} holds funds")
        elif account.balance >= 0 and account.balance != lots_left:
            problems.append(f"invariant 3: account {account.pk} has balance {account.balance} "
                            f"but its lots hold {lots_left}")
        elif account.balance < 0 and lots_left > 0:
            problems.append(f"invariant 3: account {account.pk} is in debt ({account.balance}) "
                            f"while its lots still hold {lots_left}")
    for lot in CreditLot.objects.filter(account__in=accounts).filter(Q(remaining__lt=0) | Q(remaining__gt=F("amount"))):
        problems.append(f"invariant 3: lot {lot.pk} has remaining {lot.remaining} outside 0..{lot.amount}")
    # 4. No promotional charge took available below zero (as recorded at the time of the charge).
    promotional = Transaction.objects.filter(account__in=accounts, traffic=Traffic.PROMOTIONAL,
                                             metadata__has_key="available_after")
    for txn in promotional.only("pk", "metadata").iterator(chunk_size=2000):
        if txn.metadata["available_after"].startswith("-"):
            problems.append(f"invariant 4: promotional charge {txn.pk} left available at "
                            f"{txn.metadata['available_after']}")
    # 5. The per-account daily totals (kept by a trigger on PostgreSQL) equal the sums of their postings.
    problems += daytotals.mismatches()
    return problems
