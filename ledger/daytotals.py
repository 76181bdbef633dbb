"""Reads of the per-account daily and monthly totals (ledger.models.AccountDayTotal, AccountMonthTotal), kept
by PostgreSQL.

The finance totals line, the org balance chart and the reports sum these rows (a few per account and
day) instead of every posting of the range. The totals line and the reports read the org's rolled-up
closed months (RolledMonth) from the monthly rows, one per account and dimensions a month, and only the
other days (the current month, the partial months at the ends of the range, a month not yet rolled up)
from the daily rows (`plan`, `sources`). Each function returns None when the totals cannot answer exactly
(SQLite, whose tables stay empty; a range not on local day bounds; a filter the rows do not carry, such
as a subaccount): the caller then sums the postings as before. `check_ledger` compares the daily rows
with the postings and the monthly rows with the daily rows (`mismatches`). `roll_months` rolls up an
org's closed months (the nightly job).
"""

from datetime import date, datetime, time
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.db import connection, transaction
from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import TruncMonth

from ledger.models import (
    QUANTUM,
    ZERO,
    AccountDayTotal,
    AccountMonthTotal,
    Organization,
    TransactionKind,
)
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


def _month_after(month: date) -> date:
    return month + relativedelta(months=1)


Plan = tuple[list[date], list[tuple[date | None, date | None]]]


def plan(organization: Organization, start: datetime | None = None, end: datetime | None = None) -> Plan | None:
    """Where the org's totals over [start, end) are (local day bounds; else None): the rolled-up months wholly in
    the range, read from the monthly rows, and the [low, high) day ranges of every other day (None: open), read
    from the daily rows. One query (the org's rolled-up months)."""
    if not usable():
        return None
    first, last = local_day(start, organization.tz), local_day(end, organization.tz)
    if first is False or last is False:
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT month FROM ledger_rolledmonth WHERE organization_id = %s AND month >= %s "
                       "AND month <= %s ORDER BY month",
                       [organization.pk, first or date.min, (last - relativedelta(months=1)) if last else date.max])
        months = [row[0] for row in cursor.fetchall()]
    # The days outside the rolled months: before the first run of them, between runs, after the last.
    gaps, low = [], first
    for month in months:
        if low is None or low < month:
            gaps.append((low, month))
        low = _month_after(month)
    if last is None or low is None or low < last:
        gaps.append((low, last))
    return months, gaps


def sources(organization: Organization, account_id=None, *, start: datetime | None = None,
            end: datetime | None = None) -> list[QuerySet] | None:
    """The rows holding the org's (or one account's) totals over [start, end) on local day bounds (`plan`), else
    None: the monthly rows of the rolled-up months (if any), then the daily rows of the other days (if any); both
    carry the same sums and dimensions (`month` or `day`)."""
    found = plan(organization, start, end)
    if found is None:
        return None
    months, gaps = found
    scope = {"account_id": account_id} if account_id is not None else {"organization_id": organization.pk}
    rows = []
    if months:
        rows.append(AccountMonthTotal.objects.filter(month__in=months, **scope).order_by())
    if gaps:
        days = Q()
        for low, high in gaps:
            days |= Q(**{key: value for key, value in (("day__gte", low), ("day__lt", high)) if value is not None})
        rows.append(AccountDayTotal.objects.filter(days, **scope).order_by())
    return rows


# The sums of the totals line over the monthly and daily rows (`entry_totals`); raw SQL: the ORM spent more time
# compiling two aggregates than PostgreSQL spent running them.
ENTRY_TOTALS_SQL = """
SELECT COALESCE(SUM(credit), 0), COALESCE(SUM(debit) FILTER (WHERE kind <> 'expiry'), 0),
       COALESCE(SUM(credit + debit) FILTER (WHERE kind = 'expiry'), 0), COALESCE(SUM(debit), 0),
       COALESCE(SUM(credit_count), 0)::bigint, COALESCE(SUM(debit_count), 0)::bigint
FROM ({rows}) rows
"""
ROW_COLUMNS = "kind, credit, credit_count, debit, debit_count"


def entry_totals(organization: Organization, account_id=None, *, start=None, end=None, kind: str = "",
                 channel: str = "") -> dict | None:
    """The finance totals line of an org's (or one account's) entries from the daily and monthly totals, or None.

    A dict of credits_in, credits_out, expired, net and count (ledger.finance.selectors.Totals). Two queries: the
    rolled-up months (`plan`) and the sums.
    """
    found = plan(organization, start, end)
    if found is None:
        return None
    months, gaps = found
    scope, scope_params = (("account_id = %s", [account_id]) if account_id is not None
                           else ("organization_id = %s", [organization.pk]))
    filters, filter_params = "", []
    if channel:
        filters, filter_params = " AND channel = %s", [channel]
    transfer = kind in (TRANSFER_IN, TRANSFER_OUT)
    if kind:
        filters += " AND kind = %s"
        filter_params.append(TransactionKind.TRANSFER if transfer else kind)
    selects, params = [], []
    if months:
        selects.append(f"SELECT {ROW_COLUMNS} FROM ledger_accountmonthtotal "  # noqa: S608 - fixed text, placeholders
                       f"WHERE {scope} AND month = ANY(%s){filters}")
        params += [*scope_params, months, *filter_params]
    if gaps:
        ranges, range_params = [], []
        for low, high in gaps:
            bounds = [(bound, value) for bound, value in (("day >= %s", low), ("day < %s", high)) if value is not None]
            ranges.append(f"({' AND '.join(bound for bound, _ in bounds) or 'TRUE'})")
            range_params += [value for _, value in bounds]
        selects.append(f"SELECT {ROW_COLUMNS} FROM ledger_accountdaytotal WHERE {scope} "  # noqa: S608 - as above
                       f"AND ({' OR '.join(ranges)}){filters}")
        params += [*scope_params, *range_params, *filter_params]
    if not selects:  # an empty range (its end before its start)
        selects.append(f"SELECT {ROW_COLUMNS} FROM ledger_accountdaytotal WHERE FALSE")  # noqa: S608 - fixed text
    with connection.cursor() as cursor:
        cursor.execute(ENTRY_TOTALS_SQL.format(rows=" UNION ALL ".join(selects)), params)
        credits_in, debits, expired, debit, credit_count, debit_count = cursor.fetchone()
    if kind == TRANSFER_IN:  # a transfer's two sides: in is its positive postings, out its negative ones
        return {"credits_in": credits_in, "credits_out": ZERO, "expired": ZERO, "net": credits_in,
                "count": credit_count}
    if kind == TRANSFER_OUT:
        return {"credits_in": ZERO, "credits_out": -debit, "expired": ZERO, "net": debit, "count": debit_count}
    return {"credits_in": credits_in, "credits_out": -debits, "expired": -expired, "net": credits_in + debit,
            "count": credit_count + debit_count}


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
    found = sources(organization, start=start, end=end)
    if found is None:
        return None
    rows = []
    for source in found:  # a month is wholly in one source: rolled up, or in the daily rows
        source = source.filter(kind__in=kinds)
        if channel:
            source = source.filter(channel=channel)
        if source.model is AccountDayTotal:
            source = source.annotate(month=TruncMonth("day"))
        rows += source.values("month", *fields).annotate(**aggregates).order_by()
    rows.sort(key=lambda row: tuple(row[key] for key in ("month", *fields)))
    tz = organization.tz
    for row in rows:
        row["month"] = datetime.combine(row["month"], time.min, tzinfo=tz)  # as TruncMonth(created_at, tz) gives it
    return rows


def roll_months(organization: Organization | None = None, at: datetime | None = None) -> int:
    """Roll up the closed months (ended two days before `at`, default now) of an org, or of every org, not yet
    rolled up; one transaction per org. The number of months rolled up (0 on SQLite)."""
    if not usable():
        return 0
    ids = ([organization.pk] if organization is not None
           else Organization.objects.order_by("pk").values_list("pk", flat=True))
    rolled = 0
    for org_id in ids:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT ledger_month_totals_roll(%s, COALESCE(%s, now()))", [org_id, at])
            rolled += cursor.fetchone()[0]
    return rolled


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


MONTH_MISMATCHES_SQL = """
WITH expected AS (
    SELECT d.organization_id, d.account_id, r.month, d.kind, d.channel, d.country, d.category,
           SUM(d.credit) AS credit, SUM(d.credit_count) AS credit_count, SUM(d.debit) AS debit,
           SUM(d.debit_count) AS debit_count, SUM(d.quantity) AS quantity, SUM(d.free_quantity) AS free_quantity
    FROM ledger_rolledmonth r
    JOIN ledger_accountdaytotal d ON d.organization_id = r.organization_id AND d.day >= r.month
                                 AND d.day < (r.month + interval '1 month')::date
    GROUP BY 1, 2, 3, 4, 5, 6, 7
)
SELECT COALESCE(e.account_id, m.account_id), COALESCE(e.month, m.month), COALESCE(e.kind, m.kind),
       COALESCE(e.channel, m.channel), e.credit, e.debit, e.credit_count + e.debit_count,
       m.credit, m.debit, m.credit_count + m.debit_count
FROM expected e
FULL JOIN ledger_accountmonthtotal m USING (account_id, month, kind, channel, country, category)
WHERE e.account_id IS NULL OR m.account_id IS NULL OR e.organization_id IS DISTINCT FROM m.organization_id
   OR (e.credit, e.credit_count, e.debit, e.debit_count, e.quantity, e.free_quantity)
      IS DISTINCT FROM (m.credit, m.credit_count, m.debit, m.debit_count, m.quantity, m.free_quantity)
LIMIT 100
"""


def mismatches() -> list[str]:
    """Every daily totals row that differs from the sum of its postings (or is missing, or has no postings), and
    every monthly row that differs from the sum of its month's daily rows (or is missing, or is of a month not
    rolled up)."""
    if not usable():
        return []
    with connection.cursor() as cursor:
        cursor.execute(MISMATCHES_SQL)
        daily = cursor.fetchall()
        cursor.execute(MONTH_MISMATCHES_SQL)
        monthly = cursor.fetchall()

    def fmt(value):
        return "nothing" if value is None else str(Decimal(value).quantize(QUANTUM))

    def line(what, account, when, kind, channel, credit, debit, count, kept_credit, kept_debit, kept_count,
             source):
        return (f"invariant 5: {what} of account {account} {when} ({kind}{'/' + channel if channel else ''}) "
                f"hold {fmt(kept_credit)}/{fmt(kept_debit)} over {kept_count or 0} entries but the {source} sum to "
                f"{fmt(credit)}/{fmt(debit)} over {count or 0}")

    return ([line("daily totals", account, f"on {day}", *rest, source="postings") for account, day, *rest in daily]
            + [line("monthly totals", account, f"in {month:%Y-%m}", *rest, source="daily totals")
               for account, month, *rest in monthly])
