"""Money for people and files: amounts on screens and in emails, unit prices, plain decimals for CSV.

`money` is the one formatter of amounts (Babel: the currency's symbol, grouping and minor units, so
INR -12200.8365 shows as -₹12,200.84). `rate` keeps the precision a unit price needs (₹0.0079), and
`plain_decimal` writes a CSV cell with a fixed number of places per column. Templates reach them
through the `money`, `rate` and `unit_price` filters.
"""

from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import format_currency, get_currency_precision
from django.db.models import DecimalField

from ledger.currencies import minor_unit

LOCALE = "en"
MONEY_FIELD = DecimalField(max_digits=20, decimal_places=6)
RATE_PLACES = 6  # amounts are stored with 6 decimal places
CSV_AMOUNT_PLACES = 6
EMPTY = "—"


def _decimal(amount) -> Decimal | None:
    if amount is None or amount == "":
        return None
    return amount if isinstance(amount, Decimal) else Decimal(str(amount))


def money(amount, currency: str) -> str:
    """An amount with its currency symbol and grouping, rounded half-up to the currency's minor unit."""
    value = _decimal(amount)
    if value is None:
        return EMPTY
    value = value.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)
    if value == 0:
        value = abs(value)  # never "-₹0.00"
    return format_currency(value, currency, locale=LOCALE)


def rate(amount, currency: str) -> str:
    """A unit price: its currency symbol, at least the minor digits and as many more as it has (₹0.0079)."""
    value = _decimal(amount)
    if value is None:
        return EMPTY
    digits = get_currency_precision(currency)
    pattern = "¤#,##0." + "0" * digits + "#" * max(0, RATE_PLACES - digits)
    return format_currency(value, currency, locale=LOCALE, format=pattern, currency_digits=False)


def plain_decimal(amount, places: int = CSV_AMOUNT_PLACES) -> str:
    """A CSV cell: a plain decimal with exactly `places` places (13075 -> 13075.000000); empty for None."""
    value = _decimal(amount)
    if value is None:
        return ""
    return f"{value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP):f}"
