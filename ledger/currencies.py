"""ISO 4217 currencies in use today and their minor units, from Babel's CLDR data."""

from datetime import date
from decimal import Decimal
from functools import cache

from babel import Locale
from babel.numbers import get_currency_name, get_currency_precision, get_territory_currencies


def _active_currencies(day: date) -> frozenset[str]:
    """Currencies that are legal tender in some territory on `day` (no DEM, FRF, ZWD or XXX)."""
    codes: set[str] = set()
    for territory in Locale("en").territories:
        codes.update(get_territory_currencies(territory, start_date=day, end_date=day, tender=True))
    return frozenset(codes)


# What a new org may choose: 1 credit = 1 unit of it, and it never changes afterwards.
CURRENCIES: frozenset[str] = _active_currencies(date.today())
# Offered first in the console's currency picker.
COMMON_CURRENCIES = ("INR", "USD", "EUR", "GBP", "AED", "SAR", "EGP", "SGD", "AUD", "CAD", "JPY", "ZAR")


@cache
def minor_unit(currency: str) -> Decimal:
    """The smallest display unit of a currency: Decimal('0.01') for INR, Decimal('1') for JPY."""
    return Decimal(1).scaleb(-get_currency_precision(currency))


def currency_label(code: str) -> str:
    """`INR — Indian Rupee`."""
    return f"{code} — {get_currency_name(code, locale='en')}"


def currency_choices() -> list:
    """Choices for a currency picker: the common currencies first, then every other active one by code."""
    common = [code for code in COMMON_CURRENCIES if code in CURRENCIES]
    others = sorted(CURRENCIES - set(common))
    return [("Common", [(code, currency_label(code)) for code in common]),
            ("All active currencies", [(code, currency_label(code)) for code in others])]
