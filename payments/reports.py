"""Finance reports of payments: received per provider, currency and month; tax collected per tax line;
pending and failed top-ups; and the reconciliation payments = credits purchased + tax, per currency.

Months are UTC calendar months (payments cross orgs and timezones). Each report reads the orgs it is
given; the reconciliation reads the ledger (purchase transactions and their payments-clearing and
tax-payable postings) next to the payments table, so a difference shows a booking that went wrong.
"""

from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncMonth

from ledger.models import ZERO, Posting, SystemAccount, Transaction, TransactionKind

from .models import Payment, PaymentStatus, TopUp, TopUpStatus


def _in_range(queryset: QuerySet, field: str, start: datetime | None, end: datetime | None) -> QuerySet:
    if start is not None:
        queryset = queryset.filter(**{f"{field}__gte": start})
    if end is not None:
        queryset = queryset.filter(**{f"{field}__lt": end})
    return queryset


def payments_received(organizations, start, end) -> list[dict]:
    """Applied payments per provider, currency and month: count and amount (top-ups and invoices)."""
    payments = _in_range(Payment.objects.filter(organization__in=organizations, status=PaymentStatus.APPLIED),
                         "received_at", start, end)
    return list(payments.annotate(month=TruncMonth("received_at", tzinfo=UTC))
                .values("month", "provider", "currency")
                .annotate(payments=Count("id"), received=Sum("amount"),
                          for_top_ups=Coalesce(Sum("amount", filter=Q(top_up__isnull=False)), ZERO),
                          for_invoices=Coalesce(Sum("amount", filter=Q(invoice__isnull=False)), ZERO))
                .order_by("month", "currency", "provider"))


def tax_collected(organizations, start, end) -> list[dict]:
    """Tax of paid top-ups per currency, month and tax line (CGST, SGST, IGST, ...)."""
    totals: dict = defaultdict(lambda: {"amount": ZERO, "invoices": 0})
    paid = _in_range(TopUp.objects.filter(organization__in=organizations, status=TopUpStatus.PAID), "paid_at",
                     start, end)
    for currency, paid_at, lines in paid.values_list("currency", "paid_at", "tax_lines").iterator(chunk_size=2000):
        month = paid_at.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        for line in lines:
            row = totals[month, currency, line["name"], line["rate"]]
            row["amount"] += Decimal(line["amount"])
            row["invoices"] += 1
    return [{"month": month, "currency": currency, "name": name, "rate": rate, **values}
            for (month, currency, name, rate), values in sorted(totals.items(), key=lambda item: item[0])]


def open_top_ups(organizations, start, end, limit: int = 500) -> QuerySet:
    """Pending and failed top-ups, newest first."""
    return (_in_range(TopUp.objects.filter(organization__in=organizations,
                                           status__in=[TopUpStatus.PENDING, TopUpStatus.FAILED]),
                      "created_at", start, end)
            .select_related("organization", "account").order_by("-created_at")[:limit])


def refunds_due(organizations) -> QuerySet:
    return (Payment.objects.filter(organization__in=organizations, status=PaymentStatus.REFUND_DUE)
            .select_related("organization", "top_up").order_by("-received_at"))


def reconciliation(organizations, start, end) -> list[dict]:
    """Per currency: payments applied to top-ups = credits purchased + tax, from the payments table and the
    ledger; `difference` is payments - credits - tax and must be zero."""
    purchases = _in_range(Transaction.objects.filter(organization__in=organizations, kind=TransactionKind.PURCHASE,
                                                     metadata__has_key="top_up"), "created_at", start, end)
    credits = dict(purchases.values("currency").annotate(total=Sum("amount")).values_list("currency", "total"))
    postings = Posting.objects.filter(transaction__in=purchases.values("pk"))

    def system_total(code):
        return dict(postings.filter(system_account__code=code).values("system_account__currency")
                    .annotate(total=Sum("amount")).values_list("system_account__currency", "total"))

    tax = system_total(SystemAccount.Code.TAX_PAYABLE)
    cleared = system_total(SystemAccount.Code.PAYMENTS_CLEARING)
    payments = dict(_in_range(Payment.objects.filter(organization__in=organizations, status=PaymentStatus.APPLIED,
                                                     top_up__isnull=False), "received_at", start, end)
                    .values("currency").annotate(total=Sum("amount")).values_list("currency", "total"))
    rows = []
    for currency in sorted(set(credits) | set(payments) | set(tax)):
        received, bought, taxed = payments.get(currency, ZERO), credits.get(currency, ZERO), tax.get(currency, ZERO)
        rows.append({"currency": currency, "payments": received, "credits": bought, "tax": taxed,
                     "cleared": -cleared.get(currency, ZERO), "difference": received - bought - taxed})
    return rows
