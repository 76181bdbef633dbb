"""Finance reports for one org: usage by channel, country, category and month; WhatsApp conversations;
credits granted and expired per month; top-ups and removals with purchase order numbers.

Months are the org's local calendar months. The monthly reports sum the org's daily totals
(ledger.daytotals: a few rows per account and day) when the range is on local day bounds; otherwise
(SQLite, or by subaccount) one grouped query over the transactions, served by the transaction indexes
on (organization, kind, created_at) and (organization, channel, created_at).
"""

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from ledger import daytotals
from ledger.models import ZERO, Organization, Transaction, TransactionKind

USAGE_KINDS = (TransactionKind.CHARGE, TransactionKind.HOLD_CAPTURE)
CREDIT_KINDS = (TransactionKind.GRANT, TransactionKind.PURCHASE, TransactionKind.REFUND)
TOPUP_KINDS = (*CREDIT_KINDS, TransactionKind.REMOVAL)
BUSINESS_INITIATED = ("marketing", "utility", "authentication")
USER_INITIATED = ("service",)


def month_start(organization: Organization, moment: datetime | None = None) -> datetime:
    """The start of the org's local month containing `moment` (default now)."""
    local = (moment or timezone.now()).astimezone(organization.tz)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def months_back(organization: Organization, months: int) -> datetime:
    """The start of the local month `months - 1` months before this one: `months` whole months to now."""
    return month_start(organization) - relativedelta(months=months - 1)


def _transactions(organization: Organization, start: datetime | None, end: datetime | None) -> QuerySet:
    queryset = Transaction.objects.filter(organization=organization)
    if start is not None:
        queryset = queryset.filter(created_at__gte=start)
    if end is not None:
        queryset = queryset.filter(created_at__lt=end)
    return queryset


def _usage_amount():
    # A usage entry debits the funding account by the transaction's amount.
    return -(Coalesce(Sum("credit"), ZERO) + Coalesce(Sum("debit"), ZERO))


def usage_rows(organization: Organization, start: datetime | None, end: datetime | None) -> list[dict]:
    """Usage grouped by local month, channel, country and category: entries, quantity, amount."""
    fields = ("channel", "country", "category")
    found = daytotals.monthly(organization, start, end, fields=fields, kinds=USAGE_KINDS,
                              entries=Sum(F("credit_count") + F("debit_count")),
                              quantity=Coalesce(Sum("quantity"), 0), amount=_usage_amount())
    return found if found is not None else list(usage_queryset(organization, start, end))


def usage_queryset(organization: Organization, start: datetime | None, end: datetime | None,
                   by_subaccount: bool = False) -> QuerySet:
    """Usage grouped by local month, channel, country and category (and subaccount): count, quantity, amount."""
    fields = ["month", "channel", "country", "category"] + (["subaccount__name"] if by_subaccount else [])
    return (
        _transactions(organization, start, end).filter(kind__in=USAGE_KINDS)
        .annotate(month=TruncMonth("created_at", tzinfo=organization.tz))
        .values(*fields)
        .annotate(entries=Count("id"), quantity=Coalesce(Sum("quantity"), 0), amount=Sum("amount"))
        .order_by(*fields)
    )


def _rollup(rows: list[dict], key: str) -> list[dict]:
    totals: dict = defaultdict(lambda: {"entries": 0, "quantity": 0, "amount": ZERO})
    for row in rows:
        total = totals[row[key]]
        total["entries"] += row["entries"]
        total["quantity"] += row["quantity"]
        total["amount"] += row["amount"]
    return [{key: name, **values} for name, values in sorted(totals.items(), key=lambda item: str(item[0]))]


def usage_report(organization: Organization, start: datetime | None, end: datetime | None) -> dict:
    """Usage rows by month, channel, country and category, with roll-ups per channel, country, category, month."""
    rows = usage_rows(organization, start, end)
    return {
        "rows": rows,
        "by_channel": _rollup(rows, "channel"),
        "by_country": _rollup(rows, "country"),
        "by_category": _rollup(rows, "category"),
        "by_month": _rollup(rows, "month"),
        "total": sum((row["amount"] for row in rows), ZERO),
    }


def whatsapp_conversations(organization: Organization, start: datetime | None, end: datetime | None) -> list[dict]:
    """WhatsApp conversations per month: free (service or zero price), business-initiated, user-initiated."""
    conversations = Coalesce(Sum("quantity"), 0)
    business = Q(category__in=BUSINESS_INITIATED)
    user = Q(category__in=USER_INITIATED)
    found = daytotals.monthly(
        organization, start, end, fields=(), kinds=USAGE_KINDS, channel="whatsapp",
        total=conversations,
        free=Coalesce(Sum("quantity", filter=user), 0) + Coalesce(Sum("free_quantity", filter=~user), 0),
        business_initiated=Coalesce(Sum("quantity", filter=business), 0),
        user_initiated=Coalesce(Sum("quantity", filter=user), 0),
        amount=_usage_amount(),
    )
    if found is not None:
        return found
    free = user | Q(unit_price=0)
    return list(
        _transactions(organization, start, end).filter(kind__in=USAGE_KINDS, channel="whatsapp")
        .annotate(month=TruncMonth("created_at", tzinfo=organization.tz))
        .values("month")
        .annotate(
            total=conversations,
            free=Coalesce(Sum("quantity", filter=free), 0),
            business_initiated=Coalesce(Sum("quantity", filter=business), 0),
            user_initiated=Coalesce(Sum("quantity", filter=user), 0),
            amount=Coalesce(Sum("amount"), ZERO),
        )
        .order_by("month")
    )


def credits_per_month(organization: Organization, start: datetime | None, end: datetime | None) -> list[dict]:
    """Credits granted (by source), removed and expired per local month: the expired-credits ledger report."""
    def signed(*kinds):  # the amounts as the customer postings moved the account: +granted, -removed, -expired
        return Coalesce(Sum(F("credit") + F("debit"), filter=Q(kind__in=kinds)), ZERO)

    found = daytotals.monthly(
        organization, start, end, fields=(), kinds=(*TOPUP_KINDS, TransactionKind.EXPIRY),
        granted=signed(*CREDIT_KINDS), grants=signed(TransactionKind.GRANT),
        purchases=signed(TransactionKind.PURCHASE), refunds=signed(TransactionKind.REFUND),
        removed=-signed(TransactionKind.REMOVAL), expired=-signed(TransactionKind.EXPIRY),
        expired_lots=Coalesce(Sum(F("credit_count") + F("debit_count"),
                                  filter=Q(kind=TransactionKind.EXPIRY)), 0),
    )
    if found is not None:
        return found

    def total(*kinds):
        return Coalesce(Sum("amount", filter=Q(kind__in=kinds)), ZERO)

    return list(
        _transactions(organization, start, end)
        .filter(kind__in=(*TOPUP_KINDS, TransactionKind.EXPIRY))
        .annotate(month=TruncMonth("created_at", tzinfo=organization.tz))
        .values("month")
        .annotate(
            granted=total(*CREDIT_KINDS),
            grants=total(TransactionKind.GRANT),
            purchases=total(TransactionKind.PURCHASE),
            refunds=total(TransactionKind.REFUND),
            removed=total(TransactionKind.REMOVAL),
            expired=total(TransactionKind.EXPIRY),
            expired_lots=Count("id", filter=Q(kind=TransactionKind.EXPIRY)),
        )
        .order_by("month")
    )


def topups_and_removals(organization: Organization, start: datetime | None, end: datetime | None) -> QuerySet:
    """Grants, purchases, refunds and removals, newest first, with the lot's purchase order and expiry."""
    return (
        _transactions(organization, start, end).filter(kind__in=TOPUP_KINDS)
        .select_related("account", "lot", "actor_user")
        .order_by("-created_at", "-id")
    )


def signed_amount(transaction: Transaction) -> Decimal:
    """The amount as it moved the account: removals negative."""
    return -transaction.amount if transaction.kind == TransactionKind.REMOVAL else transaction.amount
