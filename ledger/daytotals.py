"""Reads of the per-account daily totals (ledger.models.AccountDayTotal), kept by PostgreSQL.

The finance totals line, the org balance chart and the reports sum these rows (a few per account and
day) instead of every posting of the range. Each function returns None when the totals cannot answer
exactly (SQLite, whose table stays empty; a range not on local day bounds; a filter the rows do not
carry, such as a subaccount): the caller then sums the postings as before. `check_ledger` compares
the rows with the postings (`mismatches`).
"""

from datetime import date, datetime, time
from decimal import Decimal

from django.db import connection
from django.db.models import F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncMonth

from ledger.models import QUANTUM, ZERO, AccountDayTotal, Organization, TransactionKind
from ledger.selectors import TRANSFER_IN, TRANSFER_OUT


def usable() -> bool:
    """Whether the database keeps the totals (PostgreSQL's trigger; SQLite does not)."""
    return connection.vendor == "postgresql"


def local_day(moment: datetime | None, tz) -> date | None | bool:
    """The local date `moment` starts (None for no bound), or False when it is not a local midnight."""
    if moment is None:
        return None
    local = moment.astimezone(tz)
    return local.date() if local.time() == time.min else False


def rows_for(organization: Organization, account_id=None, *, start: datetime | None = None,
             end: datetime | None = None) -> QuerySet[AccountDayTotal] | None:
    """The rows of an org (or one of its accounts) over [start, end) on local day bounds, else None."""
    if not usable():
        return None
    first, last = local_day(start, organization.tz), local_day(end, organization.tz)
    if first is False or last is False:
        return None
    rows = (AccountDayTotal.objects.filter(account_id=account_id) if account_id is not None
            else AccountDayTotal.objects.filter(organization_id=organization.pk))
    if first is not None:
        rows = rows.filter(day__gte=first)
    if last is not None:
        rows = rows.filter(day__lt=last)
    return rows.order_by()


def entry_totals(organization: Organization, account_id=None, *, start=None, end=None, kind: str = "",
                 channel: str = "") -> dict | None:
    """The finance totals line of an org's (or one account's) entries from the daily totals, or None.

    A dict of credits_in, credits_out, expired, net and count (ledger.finance.selectors.Totals).
    """
    rows = rows_for(organization, account_id, start=start, end=end)
    if rows is None:
        return None
    if channel:
        rows = rows.filter(channel=channel)
    if kind in (TRANSFER_IN, TRANSFER_OUT):
        # A transfer's two sides: in is its positive postings, out its negative ones.
        side = "credit" if kind == TRANSFER_IN else "debit"
        sums = rows.filter(kind=TransactionKind.TRANSFER).aggregate(
            total=Coalesce(Sum(side), ZERO), count=Coalesce(Sum(f"{side}_count"), 0))
        if kind == TRANSFER_IN:
            return {"credits_in": sums["total"], "credits_out": ZERO, "expired": ZERO, "net": sums["total"],
                    "count": sums["count"]}
        return {"credits_in": ZERO, "credits_out": -sums["total"], "expired": ZERO, "net": sums["total"],
                "count": sums["count"]}
    if kind:
        rows = rows.filter(kind=kind)
    expiry = Q(kind=TransactionKind.EXPIRY)
    sums = rows.aggregate(
        credits_in=Coalesce(Sum("credit"), ZERO),
        debits=Coalesce(Sum("debit", filter=~expiry), ZERO),
        expired=Coalesce(Sum(F("credit") + F("debit"), filter=expiry), ZERO),
        debit=Coalesce(Sum("debit"), ZERO),
        count=Coalesce(Sum(F("credit_count") + F("debit_count")), 0),
    )
    return {"credits_in": sums["credits_in"], "credits_out": -sums["debits"], "expired": -sums["expired"],
            "net": sums["credits_in"] + sums["debit"], "count": sums["count"]}


def daily_nets(organization: Organization, first: date) -> dict[date, Decimal] | None:
    """The net of every local day of the org from `first` on (the balance chart walks back by them), or None."""
    if not usable():
        return None
    rows = (AccountDayTotal.objects.filter(organization_id=organization.pk, day__gte=first).order_by()
            .values("day").annotate(net=Sum("credit") + Sum("debit")).values_list("day", "net"))
    return dict(rows)


def monthly(organization: Organization, start: datetime | None, end: datetime | None, *, fields: tuple[str, ...],
            kinds, channel: str = "", **aggregates) -> list[dict] | None:
    """Rows of the org's totals in [start, end) of `kinds` (and `channel`), grouped by local month and `fields`,
    or None."""
    rows = rows_for(organization, start=start, end=end)
    if rows is None:
        return None
    if channel:
        rows = rows.filter(channel=channel)
    rows = (rows.filter(kind__in=kinds).annotate(month=TruncMonth("day")).values("month", *fields)
            .annotate(**aggregates).order_by("month", *fields))
    tz = organization.tz
    found = []
    for row in rows:
        row["month"] = datetime.combine(row["month"], time.min, tzinfo=tz)  # as TruncMonth(created_at, tz) gives it
        found.append(row)
    return found


MISMATCHES_SQL = """
WITH expected AS (
    SELECT a.organization_id, p.account_id, (p.created_at AT TIME ZONE o.timezone)::date AS day,
           t.kind, t.channel, t.country, t.category,
           COALESCE(SUM(p.amount) FILTER (WHERE p.amount > 0), 0) AS credit, COUNT(*) FILTER (WHERE p.amount > 0)
               AS credit_count,
           COALESCE(SUM(p.amount) FILTER (WHERE p.amount <= 0), 0) AS debit, COUNT(*) FILTER (WHERE p.amount <= 0)
               AS debit_count,
           COALESCE(SUM(t.quantity), 0) AS quantity, COALESCE(SUM(t.quantity) FILTER (WHERE t.unit_price = 0), 0)
               AS free_quantity
    FROM ledger_posting p
    JOIN ledger_transaction t ON t.id = p.transaction_id
    JOIN ledger_account a ON a.id = p.account_id
    JOIN ledger_organization o ON o.id = a.organization_id
    WHERE p.account_id IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5, 6, 7
)
SELECT COALESCE(e.account_id, d.account_id), COALESCE(e.day, d.day), COALESCE(e.kind, d.kind),
       COALESCE(e.channel, d.channel), e.credit, e.debit, e.credit_count + e.debit_count,
       d.credit, d.debit, d.credit_count + d.debit_count
FROM expected e
FULL JOIN ledger_accountdaytotal d USING (account_id, day, kind, channel, country, category)
WHERE e.account_id IS NULL OR d.account_id IS NULL OR e.organization_id IS DISTINCT FROM d.organization_id
   OR (e.credit, e.credit_count, e.debit, e.debit_count, e.quantity, e.free_quantity)
      IS DISTINCT FROM (d.credit, d.credit_count, d.debit, d.debit_count, d.quantity, d.free_quantity)
LIMIT 100
"""


def mismatches() -> list[str]:
    """Every daily totals row that differs from the sum of its postings (or is missing, or has no postings)."""
    if not usable():
        return []
    with connection.cursor() as cursor:
        cursor.execute(MISMATCHES_SQL)
        rows = cursor.fetchall()
    def fmt(value):
        return "nothing" if value is None else str(Decimal(value).quantize(QUANTUM))

    return [f"invariant 5: daily totals of account {account} on {day} ({kind}{'/' + channel if channel else ''}) "
            f"hold {fmt(kept_credit)}/{fmt(kept_debit)} over {kept_count or 0} entries but the postings sum to "
            f"{fmt(credit)}/{fmt(debit)} over {count or 0}"
            for account, day, kind, channel, credit, debit, count, kept_credit, kept_debit, kept_count in rows]
