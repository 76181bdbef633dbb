"""ISO 4217 currencies and their minor units, from Babel's CLDR data."""

from decimal import Decimal
from functools import cache

from babel.numbers import get_currency_precision, list_currencies

CURRENCIES: frozenset[str] = frozenset(list_currencies())


@cache
def minor_unit(currency: str) -> Decimal:
    """The smallest display unit of a currency: Decimal('0.01') for INR, Decimal('1') for JPY."""
    return Decimal(1).scaleb(-get_currency_precision(currency))
