"""Server-side SVG charts (no JavaScript, no CDN): balance over time, usage by channel, and bars per month
(usage by channel and month, credits granted vs expired) for the org page and the reports."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from ledger import daytotals
from ledger.models import ZERO, Organization, Posting, Transaction
from ledger.money import money
from ledger.templatetags.console import channel_label
from ledger.times import local_date, local_month

from .reports import USAGE_KINDS
from .selectors import LedgerScope, scope_balance_at

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 80, 16, 24, 36
PIXEL = Decimal("0.1")
MAX_SERIES_DAYS = 400  # a line chart of daily balances covers at most this many days
SERIES_COLORS = {"SMS": "#417690", "Email": "#79aec8", "WhatsApp": "#25a244", "X-Engage": "#c27c0e",
                 "Granted": "#2e7d32", "Expired": "#ba2121", "Removed": "#c27c0e"}
PALETTE = ["#417690", "#c27c0e", "#25a244", "#79aec8", "#8e44ad", "#888"]


def balance_series(organization: Organization, days: int = 90) -> list[tuple[date, Decimal]]:
    """The org's closing balance for each of the last `days` local days, oldest first (two queries).

    Walks back from the balance now by each day's net, read from the daily totals (or, without them,
    summed over the postings of those days).
    """
    scope = LedgerScope(organization)
    current = scope_balance_at(scope, None)
    tz = organization.tz
    today = timezone.now().astimezone(tz).date()
    nets = daytotals.daily_nets(organization, today - timedelta(days=days - 1))
    if nets is None:
        postings = Posting.objects.filter(transaction__organization=organization, account__isnull=False)
        return closing_balances(postings, current, tz, days, time_field="transaction__created_at")
    return walk_back(nets, current, today, days)


def closing_balances(postings, current: Decimal, tz, days: int, *, time_field: str = "created_at",
                     ) -> list[tuple[date, Decimal]]:
    """Closing balance per local day of the last `days` days, walking back from `current` by each day's net."""
    today = timezone.now().astimezone(tz).date()
    first = today - timedelta(days=days - 1)
    start = datetime.combine(first, time.min, tzinfo=tz)
    nets = dict(
        postings.filter(**{f"{time_field}__gte": start}).annotate(day=TruncDate(time_field, tzinfo=tz))
        .values("day").annotate(net=Sum("amount")).values_list("day", "net")
    )
    return walk_back(nets, current, today, days)


def walk_back(nets: dict[date, Decimal], current: Decimal, today: date, days: int) -> list[tuple[date, Decimal]]:
    """Closing balances of the `days` days up to `today`, oldest first, from the balance now and each day's net."""
    later = sum((net for day, net in nets.items() if day > today), ZERO)  # entries dated in the future
    balance = current - later
    series = []
    for offset in range(days):
        day = today - timedelta(days=offset)
        series.append((day, balance))
        balance -= nets.get(day, ZERO)
    return list(reversed(series))


def usage_by_channel(organization: Organization, days: int = 30) -> list[tuple[str, Decimal]]:
    """Usage amount per channel over the last `days` days (local days, today included), largest first."""
    tz = organization.tz
    first = timezone.now().astimezone(tz).date() - timedelta(days=days - 1)
    totals = daytotals.rows_for(organization, start=datetime.combine(first, time.min, tzinfo=tz))
    if totals is not None:
        rows = (totals.filter(kind__in=USAGE_KINDS).values("channel")
                .annotate(amount=-(Sum("credit") + Sum("debit"))).order_by("-amount", "channel"))
    else:
        since = timezone.now() - timedelta(days=days)
        rows = (Transaction.objects.filter(organization=organization, kind__in=USAGE_KINDS, created_at__gte=since)
                .values("channel").annotate(amount=Sum("amount")).order_by("-amount", "channel"))
    return [(channel_label(row["channel"]) or "Other", row["amount"]) for row in rows]


def _fmt(amount: Decimal, currency: str) -> str:
    return money(amount, currency)


def _px(value: Decimal) -> str:
    return str(value.quantize(PIXEL))


def _scale(low: Decimal, high: Decimal):
    if high == low:
        high, low = high + 1, low - 1
    span = high - low
    plot_height = Decimal(HEIGHT - TOP - BOTTOM)

    def y(value: Decimal) -> Decimal:
        return Decimal(TOP) + (high - value) * plot_height / span

    return y


def _frame(title: str, body: SafeString) -> SafeString:
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="finance-chart" role="img" viewBox="0 0 {} {}" '
        'width="100%" style="max-width:{}px" aria-label="{}"><title>{}</title>'
        '<rect x="0" y="0" width="{}" height="{}" fill="#fff"/>{}</svg>',
        WIDTH, HEIGHT, WIDTH, title, title, WIDTH, HEIGHT, body,
    )


def line_chart(points: list[tuple[date, Decimal]], *, title: str, currency: str) -> SafeString:
    """A line chart of amounts over days, with min/max/zero gridlines and first/last date labels."""
    if not points:
        return _frame(title, format_html('<text x="{}" y="{}" fill="#666">No data</text>', LEFT, HEIGHT // 2))
    values = [value for _, value in points]
    low, high = min(min(values), ZERO), max(max(values), ZERO)
    y = _scale(low, high)
    plot_width = Decimal(WIDTH - LEFT - RIGHT)
    step = plot_width / max(len(points) - 1, 1)
    coords = " ".join(f"{_px(LEFT + step * i)},{_px(y(value))}" for i, (_, value) in enumerate(points))
    gridlines = format_html_join(
        "", '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#ddd"/>'
            '<text x="{}" y="{}" font-size="11" text-anchor="end" fill="#666">{}</text>',
        ((LEFT, WIDTH - RIGHT, _px(y(v)), _px(y(v)), LEFT - 6, _px(y(v) + 4), _fmt(v, currency))
         for v in sorted({low, high, ZERO})),
    )
    body = format_html(
        '{}<polyline fill="none" stroke="#417690" stroke-width="2" points="{}"/>'
        '<text x="{}" y="{}" font-size="11" fill="#666">{}</text>'
        '<text x="{}" y="{}" font-size="11" text-anchor="end" fill="#666">{}</text>'
        '<text x="{}" y="16" font-size="12" fill="#333">{}</text>',
        gridlines, coords, LEFT, HEIGHT - 12, local_date(points[0][0]), WIDTH - RIGHT, HEIGHT - 12,
        local_date(points[-1][0]), LEFT, f"{title}: {_fmt(values[-1], currency)}",
    )
    return _frame(title, body)


def bar_chart(items: list[tuple[str, Decimal]], *, title: str, currency: str) -> SafeString:
    """Horizontal bars, one per label, widths proportional to the amounts."""
    if not items:
        return _frame(title, format_html('<text x="{}" y="{}" fill="#666">No usage</text>', LEFT, HEIGHT // 2))
    top = max((amount for _, amount in items), default=ZERO) or Decimal(1)
    plot_width = Decimal(WIDTH - LEFT - RIGHT - 110)
    bar = Decimal(HEIGHT - TOP - BOTTOM) / len(items)
    rows = []
    for i, (label, amount) in enumerate(items):
        y_top = Decimal(TOP) + bar * i
        width = max(amount, ZERO) * plot_width / top
        rows.append(format_html(
            '<text x="{}" y="{}" font-size="12" text-anchor="end" fill="#333">{}</text>'
            '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"/>'
            '<text x="{}" y="{}" font-size="11" fill="#333">{}</text>',
            LEFT - 6, _px(y_top + bar / 2 + 4), label, LEFT, _px(y_top + bar * Decimal("0.15")), _px(width),
            _px(bar * Decimal("0.7")), SERIES_COLORS.get(label, "#888"), _px(LEFT + width + 6), _px(y_top + bar / 2 + 4),
            _fmt(amount, currency),
        ))
    body = format_html('<text x="{}" y="16" font-size="12" fill="#333">{}</text>{}', LEFT, title,
                       mark_safe("".join(rows)))  # noqa: S308 - every row was built by format_html
    return _frame(title, body)


def organization_charts(organization: Organization) -> dict:
    """The two org-page charts as inline SVG."""
    currency = organization.currency
    return {
        "balance_chart": line_chart(balance_series(organization), title="Org total balance, last 90 days",
                                    currency=currency),
        "usage_chart": bar_chart(usage_by_channel(organization), title="Usage by channel, last 30 days",
                                 currency=currency),
    }


def month_bars(months: list[str], series: list[tuple[str, list[Decimal]]], *, title: str, currency: str,
               stacked: bool = True) -> SafeString:
    """Vertical bars per month: one colour per series, stacked (usage by channel) or side by side (granted vs
    expired), with a legend and the largest value on the axis."""
    if not months or not series:
        return _frame(title, format_html('<text x="{}" y="{}" fill="#666">No data</text>', LEFT, HEIGHT // 2))
    totals = [sum((values[i] for _, values in series), ZERO) if stacked
              else max((values[i] for _, values in series), default=ZERO) for i in range(len(months))]
    top = max(max(totals, default=ZERO), ZERO) or Decimal(1)
    plot_width, plot_height = Decimal(WIDTH - LEFT - RIGHT), Decimal(HEIGHT - TOP - BOTTOM - 14)
    slot = plot_width / len(months)
    bar = slot * Decimal("0.7") / (1 if stacked else len(series))
    label_every = -(-len(months) // 7)  # at most seven month labels: they stay readable
    parts = []
    for i, month in enumerate(months):
        x0 = Decimal(LEFT) + slot * i + slot * Decimal("0.15")
        base = Decimal(HEIGHT - BOTTOM)
        for j, (label, values) in enumerate(series):
            height = max(values[i], ZERO) * plot_height / top
            x = x0 if stacked else x0 + bar * j
            y = base - height
            parts.append(format_html(
                '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{} {}: {}</title></rect>',
                _px(x), _px(y), _px(bar), _px(height), SERIES_COLORS.get(label, PALETTE[j % len(PALETTE)]),
                month, label, _fmt(values[i], currency)))
            if stacked:
                base = y
        if i % label_every == 0:
            parts.append(format_html('<text x="{}" y="{}" font-size="10" text-anchor="middle" fill="#666">{}</text>',
                                     _px(x0 + slot * Decimal("0.35")), HEIGHT - BOTTOM + 14, month))
    legend = format_html_join("", '<rect x="{}" y="{}" width="10" height="10" fill="{}"/>'
                                  '<text x="{}" y="{}" font-size="11" fill="#333">{}</text>',
                              ((LEFT + 110 * j, HEIGHT - 12, SERIES_COLORS.get(label, PALETTE[j % len(PALETTE)]),
                                LEFT + 110 * j + 14, HEIGHT - 3, label) for j, (label, _) in enumerate(series)))
    body = format_html(
        '<text x="{}" y="16" font-size="12" fill="#333">{}</text>'
        '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#ddd"/>'
        '<text x="{}" y="{}" font-size="11" text-anchor="end" fill="#666">{}</text>{}{}',
        LEFT, title, LEFT, WIDTH - RIGHT, TOP + 14, TOP + 14, LEFT - 6, TOP + 18, _fmt(top, currency),
        mark_safe("".join(parts)), legend)  # noqa: S308 - every part was built by format_html
    return _frame(title, body)


def month_labels(start: datetime, end: datetime | None, tz) -> list[str]:
    """Every local month from `start` to `end` (now when None), as `2026-12` labels."""
    first = start.astimezone(tz).date().replace(day=1)
    last = (end - timedelta(microseconds=1) if end else timezone.now()).astimezone(tz).date().replace(day=1)
    labels = []
    while first <= last and len(labels) < 120:
        labels.append(local_month(first))
        first = (first + timedelta(days=32)).replace(day=1)
    return labels


def _pivot(rows: list[dict], tz, series_key: str, labels: dict, months: list[str] | None) -> tuple[list[str], dict]:
    months = months or sorted({local_month(row["month"], tz) for row in rows})
    values: dict = {}
    for row in rows:
        key = (labels.get(row[series_key], row[series_key] or "other"), local_month(row["month"], tz))
        values[key] = values.get(key, ZERO) + (row["amount"] or ZERO)
    return months, values


def usage_month_chart(rows: list[dict], *, tz, currency: str, title: str = "Usage by channel and month",
                      months: list[str] | None = None) -> SafeString:
    """Stacked bars of usage per month (every month of `months`), one colour per channel (rows: month, channel,
    amount)."""
    labels = {code: channel_label(code) for code in {row["channel"] for row in rows}}
    months, values = _pivot(rows, tz, "channel", labels, months)
    channels = sorted({label for label, _ in values})
    series = [(channel, [values.get((channel, month), ZERO) for month in months]) for channel in channels]
    return month_bars(months, series, title=title, currency=currency, stacked=True)


def credits_month_chart(rows: list[dict], *, tz, currency: str, title: str = "Credits granted vs expired",
                        months: list[str] | None = None) -> SafeString:
    """Side-by-side bars per month (every month of `months`): credits granted, expired and removed (rows: month,
    granted, expired, removed)."""
    by_month = {local_month(row["month"], tz): row for row in rows}
    months = months or list(by_month)
    series = [(label, [(by_month[month][key] or ZERO) if month in by_month else ZERO for month in months])
              for label, key in (("Granted", "granted"), ("Expired", "expired"), ("Removed", "removed"))]
    return month_bars(months, series, title=title, currency=currency, stacked=False)
