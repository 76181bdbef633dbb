"""Reads across orgs for finance: totals per currency, usage today and this month, expiries due, negative
balances, cross-org usage and expired credits. Amounts are only ever summed within one currency.

Days and months here are UTC calendar days and months (orgs live in many timezones); every row that
belongs to one org shows its time in that org's timezone.
"""

from datetime import datetime, timedelta

from dateutil.relativedelta import relativedelta
from django.db.models import Count, Min, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from ledger.models import (
    ZERO,
    Account,
    BalanceMode,
    CreditLot,
    Organization,
    Posting,
    Transaction,
    TransactionKind,
)
from ledger.selectors import organizations_openable_by

from .reports import CREDIT_KINDS, USAGE_KINDS

EXPIRY_HORIZON = timedelta(days=30)
LIST_LIMIT = 50


def finance_organizations(user) -> QuerySet[Organization]:
    """The orgs whose figures a user sees across orgs (ledger.selectors.organizations_openable_by)."""
    return organizations_openable_by(user)


def utc_day_start(moment: datetime | None = None) -> datetime:
    moment = (moment or timezone.now()).astimezone(timezone.UTC)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def utc_month_start(moment: datetime | None = None) -> datetime:
    return utc_day_start(moment).replace(day=1)


def currency_totals(organizations: QuerySet[Organization]) -> list[dict]:
    """Per currency: orgs, the summed balance and held of every fund-holding account, and what is negative."""
    negative = Q(balance__lt=0)
    return list(
        Account.objects.filter(organization__in=organizations, balance_mode=BalanceMode.OWN)
        .values("organization__currency")
        .annotate(orgs=Count("organization", distinct=True), total_balance=Coalesce(Sum("balance"), ZERO),
                  total_held=Coalesce(Sum("held"), ZERO), total_negative=Coalesce(Sum("balance", filter=negative), ZERO),
                  negative_accounts=Count("pk", filter=negative))
        .order_by("organization__currency")
    )


def usage_since(organizations: QuerySet[Organization], since: datetime) -> dict[str, dict]:
    """Usage (charges and hold captures) since an instant, per currency: entries and amount."""
    rows = (Transaction.objects.filter(organization__in=organizations, kind__in=USAGE_KINDS, created_at__gte=since)
            .values("currency").annotate(entries=Count("pk"), amount=Coalesce(Sum("amount"), ZERO))
            .order_by("currency"))
    return {row["currency"]: row for row in rows}


def expiries_due(organizations: QuerySet[Organization], at: datetime | None = None,
                 horizon: timedelta = EXPIRY_HORIZON) -> list[dict]:
    """Per org: credits left in lots that expire within `horizon`, soonest first."""
    at = at or timezone.now()
    return list(
        CreditLot.objects.filter(account__organization__in=organizations, remaining__gt=0, expires_at__gt=at,
                                 expires_at__lte=at + horizon)
        .values("account__organization", "account__organization__name", "account__organization__currency",
                "account__organization__timezone", "account__organization__wallet_id")
        .annotate(total=Sum("remaining"), lots=Count("pk"), first=Min("expires_at"))
        .order_by("first")[:LIST_LIMIT]
    )


def negative_balances(organizations: QuerySet[Organization]) -> list[Account]:
    """Fund-holding accounts below zero, the deepest first."""
    return list(Account.objects.filter(organization__in=organizations, balance_mode=BalanceMode.OWN, balance__lt=0)
                .select_related("organization").order_by("balance")[:LIST_LIMIT])


def currencies_of(organizations: QuerySet[Organization]) -> list[str]:
    return sorted(set(organizations.order_by().values_list("currency", flat=True).distinct()))


def _range(queryset: QuerySet, start: datetime | None, end: datetime | None, field: str = "created_at") -> QuerySet:
    if start is not None:
        queryset = queryset.filter(**{f"{field}__gte": start})
    if end is not None:
        queryset = queryset.filter(**{f"{field}__lt": end})
    return queryset


def usage_by_organization(organizations, currency: str, start, end) -> list[dict]:
    """Usage per org in one currency over [start, end): entries, quantity and amount, largest first."""
    return list(
        _range(Transaction.objects.filter(organization__in=organizations, currency=currency, kind__in=USAGE_KINDS),
               start, end)
        .values("organization", "organization__name", "organization__wallet_id")
        .annotate(entries=Count("pk"), quantity=Coalesce(Sum("quantity"), 0), amount=Coalesce(Sum("amount"), ZERO))
        .order_by("-amount", "organization__name")
    )


def usage_by_month_and_channel(organizations, currency: str, start, end, *, by_organization: bool = False
                               ) -> QuerySet:
    """Usage per UTC month and channel (and org) in one currency."""
    fields = ["month", "channel"] + (["organization__name", "organization__wallet_id", "country", "category"]
                                     if by_organization else [])
    return (
        _range(Transaction.objects.filter(organization__in=organizations, currency=currency, kind__in=USAGE_KINDS),
               start, end)
        .annotate(month=TruncMonth("created_at", tzinfo=timezone.UTC)).values(*fields)
        .annotate(entries=Count("pk"), quantity=Coalesce(Sum("quantity"), 0), amount=Coalesce(Sum("amount"), ZERO))
        .order_by(*fields)
    )


def credits_by_month(organizations, currency: str, start, end) -> list[dict]:
    """Credits granted, expired and removed per UTC month in one currency."""
    def total(*kinds):
        return Coalesce(Sum("amount", filter=Q(kind__in=kinds)), ZERO)

    return list(
        _range(Transaction.objects.filter(organization__in=organizations, currency=currency,
                                          kind__in=(*CREDIT_KINDS, TransactionKind.REMOVAL, TransactionKind.EXPIRY)),
               start, end)
        .annotate(month=TruncMonth("created_at", tzinfo=timezone.UTC)).values("month")
        .annotate(granted=total(*CREDIT_KINDS), expired=total(TransactionKind.EXPIRY),
                  removed=total(TransactionKind.REMOVAL))
        .order_by("month")
    )


def fund_postings(organizations, currency: str) -> tuple[QuerySet, object]:
    """The postings of every fund-holding account in one currency, and their summed balance now."""
    accounts = Account.objects.filter(organization__in=organizations, organization__currency=currency,
                                      balance_mode=BalanceMode.OWN)
    current = accounts.aggregate(total=Coalesce(Sum("balance"), ZERO))["total"]
    return Posting.objects.filter(account__in=accounts), current


def expired_credits(organizations, start, end, currency: str = "") -> QuerySet:
    """Expiry entries across orgs, newest first, with the lot (purchase order, grant date, amount)."""
    queryset = Transaction.objects.filter(organization__in=organizations, kind=TransactionKind.EXPIRY)
    if currency:
        queryset = queryset.filter(currency=currency)
    return (_range(queryset, start, end).select_related("organization", "account", "lot")
            .order_by("-created_at", "-id"))


def default_range(months: int) -> datetime:
    """The start of the UTC month `months - 1` months before this one."""
    return utc_month_start() - relativedelta(months=months - 1)
