"""Server-side SVG charts for the org page (no JavaScript, no CDN): balance over time, usage by channel."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from ledger.currencies import minor_unit
from ledger.models import ZERO, Organization, Posting, Transaction

from .reports import USAGE_KINDS
from .selectors import LedgerScope, scope_balance_at

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 80, 16, 24, 36
PIXEL = Decimal("0.1")
COLORS = {"sms": "#417690", "email": "#79aec8", "whatsapp": "#25a244", "xengage": "#c27c0e"}


def balance_series(organization: Organization, days: int = 90) -> list[tuple[date, Decimal]]:
    """The org's closing balance for each of the last `days` local days, oldest first (two queries)."""
    tz = organization.tz
    today = timezone.now().astimezone(tz).date()
    first = today - timedelta(days=days - 1)
    start = datetime.combine(first, time.min, tzinfo=tz)
    scope = LedgerScope(organization)
    current = scope_balance_at(scope, None)
    nets = dict(
        Posting.objects.filter(transaction__organization=organization, account__isnull=False,
                               transaction__created_at__gte=start)
        .annotate(day=TruncDate("transaction__created_at", tzinfo=tz))
        .values("day").annotate(net=Sum("amount")).values_list("day", "net")
    )
    later = sum((net for day, net in nets.items() if day > today), ZERO)  # entries dated in the future
    balance = current - later
    series = []
    for offset in range(days):
        day = today - timedelta(days=offset)
        series.append((day, balance))
        balance -= nets.get(day, ZERO)
    return list(reversed(series))


def usage_by_channel(organization: Organization, days: int = 30) -> list[tuple[str, Decimal]]:
    """Usage amount per channel over the last `days` days, largest first."""
    since = timezone.now() - timedelta(days=days)
    rows = (Transaction.objects.filter(organization=organization, kind__in=USAGE_KINDS, created_at__gte=since)
            .values("channel").annotate(amount=Sum("amount")).order_by("-amount", "channel"))
    return [(row["channel"] or "other", row["amount"]) for row in rows]


def _fmt(amount: Decimal, currency: str) -> str:
    return f"{amount.quantize(minor_unit(currency)):,}"


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
        gridlines, coords, LEFT, HEIGHT - 12, points[0][0].isoformat(), WIDTH - RIGHT, HEIGHT - 12,
        points[-1][0].isoformat(), LEFT, f"{title}: {_fmt(values[-1], currency)} {currency}",
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
            _px(bar * Decimal("0.7")), COLORS.get(label, "#888"), _px(LEFT + width + 6), _px(y_top + bar / 2 + 4),
            f"{_fmt(amount, currency)} {currency}",
        ))
    body = format_html('<text x="{}" y="16" font-size="12" fill="#333">{}</text>{}', LEFT, title,
                       mark_safe("".join(rows)))  # noqa: S308 - every row was built by format_html
    return _frame(title, body)


def organization_charts(organization: Organization) -> dict:
    """The two org-page charts as inline SVG."""
    currency = organization.currency
    return {
        "balance_chart": line_chart(balance_series(organization), title="Balance of all accounts, last 90 days", currency=currency),
        "usage_chart": bar_chart(usage_by_channel(organization), title="Usage by channel, last 30 days",
                                 currency=currency),
    }
