"""Money in one place: who acts, amount and quantity parsing, rounding, and the one formatter for people and files.

`money` is the one formatter of amounts (Babel: the currency's symbol, grouping and minor units, so
INR -12200.8365 shows as -₹12,200.84). `rate` keeps the precision a unit price needs (₹0.0079), and
`plain_decimal` writes a CSV cell with a fixed number of places per column. Templates reach them
through the `money`, `rate` and `unit_price` filters.
"""

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from typing import Any

from babel.numbers import format_currency, get_currency_precision
from django.contrib.auth.base_user import AbstractBaseUser

from .currencies import minor_unit
from .errors import InvalidOperation

ZERO = Decimal("0")
QUANTUM = Decimal("0.000001")  # every amount has 6 decimal places
MAX_AMOUNT = Decimal(10) ** 14  # 14 digits before the point (the columns hold 20 digits, 6 after it)
LOCALE = "en"
RATE_PLACES = 6  # amounts are stored with 6 decimal places
CSV_AMOUNT_PLACES = 6
EMPTY = "—"

# An amount as text: ASCII digits only (str.isdigit and \d also accept "１２" and other scripts' digits),
# an optional minus and decimal point, nothing around it.
AMOUNT_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?", re.ASCII)
AMOUNT_EXAMPLE = 'Enter a decimal amount such as "12.5".'


@dataclass(frozen=True)
class Actor:
    """Who does an operation: a user (staff, org admin) or a service (token name)."""

    user: AbstractBaseUser | None = None
    service: str = ""
    token_id: int | None = None

    @property
    def caller(self) -> str:
        """The scope of idempotency keys: one namespace per token, user or named service."""
        if self.token_id is not None:
            return f"token:{self.token_id}"
        if self.user is not None:
            return f"user:{self.user.pk}"
        return f"service:{self.service or 'system'}"

    @property
    def user_id(self):
        return self.user.pk if self.user is not None else None

    @property
    def label(self) -> str:
        return str(self.user) if self.user is not None else (self.service or "system")

    @property
    def service_label(self) -> str:
        """The service name recorded next to a row when no user acted ("" when a user did)."""
        return "" if self.user is not None else self.label

    def actor_fields(self) -> dict:
        """The `actor_user` / `actor_service` columns of transactions and limit changes."""
        return {"actor_user": self.user, "actor_service": self.service_label}

    def creator_fields(self) -> dict:
        """The `created_by` / `created_by_service` columns of lots and holds."""
        return {"created_by": self.user, "created_by_service": self.service_label}


SYSTEM = Actor(service="system")


def to_amount(value: Any, *, field: str = "amount", positive: bool = True, allow_zero: bool = False) -> Decimal:
    """Parse an amount: a Decimal, an int or an ASCII decimal string, at most 6 decimal places.

    Floats are refused (no float ever touches an amount), and so are exponents, spaces around the
    text and non-ASCII digits. With `positive` the amount must be above zero (or zero with `allow_zero`).
    """
    if isinstance(value, float | bool):
        raise InvalidOperation(errors={field: ["Amounts must be decimal strings, not floating-point numbers."]})
    if isinstance(value, str):
        if not AMOUNT_TEXT.fullmatch(value):
            raise InvalidOperation(errors={field: [AMOUNT_EXAMPLE]})
        amount = Decimal(value)
    elif isinstance(value, Decimal | int):
        amount = Decimal(value)
    else:
        raise InvalidOperation(errors={field: [AMOUNT_EXAMPLE]})
    if not amount.is_finite():
        raise InvalidOperation(errors={field: [AMOUNT_EXAMPLE]})
    if amount.copy_abs() >= MAX_AMOUNT:
        raise InvalidOperation(errors={field: ["The amount is too large."]})
    if amount != amount.quantize(QUANTUM, rounding=ROUND_HALF_UP):
        raise InvalidOperation(errors={field: ["At most 6 decimal places are allowed."]})
    if positive and (amount < 0 or (amount == 0 and not allow_zero)):
        raise InvalidOperation(errors={field: ["The amount must be greater than zero." if not allow_zero
                                               else "The amount must not be negative."]})
    return amount.quantize(QUANTUM)


def to_quantity(value: Any, *, field: str = "quantity", maximum: int | None = None) -> int:
    """Parse a quantity: a whole number (an int, not a string, a float or a bool) of at least 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidOperation(errors={field: ["The quantity must be a whole number greater than or equal to 1."]})
    if maximum is not None and value > maximum:
        raise InvalidOperation(errors={field: [f"The quantity must be at most {maximum:,}."]})
    return value


def charge_amount(unit_price: Decimal, quantity: int) -> Decimal:
    """unit price x quantity, rounded half-up to 6 places."""
    return (Decimal(unit_price) * quantity).quantize(QUANTUM, rounding=ROUND_HALF_UP)


def unit_price_of(amount: Decimal, quantity: int) -> Decimal:
    """The unit price of a fixed amount spread over `quantity` units, rounded half-up to 6 places."""
    return (amount / quantity).quantize(QUANTUM, rounding=ROUND_HALF_UP)


def _decimal(amount) -> Decimal | None:
    if amount is None or amount == "":
        return None
    return amount if isinstance(amount, Decimal) else Decimal(str(amount))


def money(amount, currency: str, *, code: bool = False) -> str:
    """An amount for people (screens, emails, messages, PDFs): its currency symbol and grouping, rounded half-up
    to the currency's minor unit (INR -12200.8365 -> -₹12,200.84, never "-₹0.00"); None is an em dash.

    With `code`, the ISO code instead of the symbol (INR 1,180.00), for fonts that lack the symbol.
    """
    value = _decimal(amount)
    if value is None:
        return EMPTY
    value = value.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)
    if value == 0:
        value = abs(value)  # never "-₹0.00"
    if code:
        return format_currency(value, currency, locale=LOCALE, format="¤¤ #,##0.00", currency_digits=True)
    shape = _money_shape(currency)
    if shape is None or not value.is_finite():
        return format_currency(value, currency, locale=LOCALE)
    prefix, suffix = shape.negative if value < 0 else shape.positive
    return f"{prefix}{abs(value):,.{shape.places}f}{suffix}"


def rate(amount, currency: str) -> str:
    """A unit price: its currency symbol, at least the minor digits and as many more as it has (₹0.0079)."""
    value = _decimal(amount)
    if value is None:
        return EMPTY
    shape = _rate_shape(currency)
    if (shape is None or not value.is_finite() or value.as_tuple().exponent < -RATE_PLACES
            or (value == 0 and value.is_signed())):
        return format_currency(value, currency, locale=LOCALE, format=_rate_pattern(currency),
                               currency_digits=False)
    prefix, suffix = shape.negative if value < 0 else shape.positive
    return f"{prefix}{_rate_digits(abs(value), shape.places)}{suffix}"


# Babel's format_currency parses its pattern and looks the locale's symbols up on every call (about 40 µs):
# a page of 50 entries and a report of 500 rows spend most of their Python time there. For the `en`
# locale the number part is Python's own grouping ("1,234,567.89"), so each currency's prefix and
# suffix (symbol, minus sign) are learnt once from Babel's output for a probe; a currency whose output
# does not have that shape keeps Babel. tests/ledger/test_money.py runs every currency through both.
@dataclass(frozen=True)
class _Shape:
    places: int
    positive: tuple[str, str]  # (prefix, suffix) around the digits
    negative: tuple[str, str]


_PROBE = Decimal("1234567890.123456")


def _affixes(text: str, digits: str) -> tuple[str, str] | None:
    if text.count(digits) != 1:
        return None
    prefix, suffix = text.split(digits)
    return None if any(c.isdigit() for c in prefix + suffix) else (prefix, suffix)


def _shape(places: int, formatted, digits) -> _Shape | None:
    positive = _affixes(formatted(_PROBE), digits(_PROBE))
    negative = _affixes(formatted(-_PROBE), digits(_PROBE))
    return _Shape(places, positive, negative) if positive and negative else None


@cache
def _money_shape(currency: str) -> _Shape | None:
    places = get_currency_precision(currency)
    unit = minor_unit(currency)
    return _shape(places, lambda v: format_currency(v.quantize(unit, rounding=ROUND_HALF_UP), currency,
                                                    locale=LOCALE),
                  lambda v: f"{v.quantize(unit, rounding=ROUND_HALF_UP):,.{places}f}")


def _rate_pattern(currency: str) -> str:
    digits = get_currency_precision(currency)
    return "¤#,##0." + "0" * digits + "#" * max(0, RATE_PLACES - digits)


def _rate_digits(value: Decimal, places: int) -> str:
    """1234.5 -> "1,234.50" (2 places): at least `places` decimals, at most RATE_PLACES, no trailing zeros."""
    whole, _, fraction = f"{value:,.{RATE_PLACES}f}".partition(".")
    fraction = fraction.rstrip("0").ljust(places, "0")
    return f"{whole}.{fraction}" if fraction else whole


@cache
def _rate_shape(currency: str) -> _Shape | None:
    places = min(get_currency_precision(currency), RATE_PLACES)
    pattern = _rate_pattern(currency)
    return _shape(places, lambda v: format_currency(v, currency, locale=LOCALE, format=pattern, currency_digits=False),
                  lambda v: _rate_digits(v, places))


def plain_decimal(amount, places: int = CSV_AMOUNT_PLACES) -> str:
    """A CSV cell: a plain decimal with exactly `places` places (13075 -> 13075.000000); empty for None."""
    if amount is None or amount == "":
        return ""
    value = amount if type(amount) is Decimal else Decimal(str(amount))
    quantum = QUANTUM if places == CSV_AMOUNT_PLACES else Decimal(1).scaleb(-places)
    return f"{value.quantize(quantum, rounding=ROUND_HALF_UP):f}"
