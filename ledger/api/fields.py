"""Serializer fields of the API: amounts as decimal strings only, ISO countries, E.164 numbers.

The OpenAPI schema of each field states exactly the rule the field applies (see ledger/api/schema.py).
"""

import re
from decimal import Decimal

import phonenumbers
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ledger.errors import LedgerError
from ledger.money import QUANTUM, to_amount, to_quantity
from ratecards.countries import is_country

# The schema's statement of an amount: ASCII digits only, at most 14 before the point and 6 after, nothing
# around. ledger.money.to_amount applies the rule (and says what is wrong); this text form also refuses the
# leading and trailing zeros it would accept, so that a request the schema refuses is refused.
AMOUNT_DIGITS = r"[0-9]{1,14}(\.[0-9]{1,6})?"
AMOUNT_RE = re.compile(rf"^-?{AMOUNT_DIGITS}$")
AMOUNT_PATTERNS = {  # the same rules as regular expressions, for the schema
    "signed": rf"^-?{AMOUNT_DIGITS}$",
    "non_negative": rf"^{AMOUNT_DIGITS}$",
    "positive": rf"^(?!0*(\.0*)?$){AMOUNT_DIGITS}$",
}


def _messages(error: LedgerError) -> list[str]:
    return [message for messages in error.errors.values() for message in messages] or [error.detail]


class AmountField(serializers.Field):
    """A decimal string with at most 6 decimal places; JSON numbers are refused (no float ever)."""

    default_error_messages = {
        "not_string": 'Amounts must be decimal strings such as "12.5", not JSON numbers.',
        "invalid": 'Enter a decimal amount such as "12.5" (at most 6 decimal places, 14 digits before the point).',
    }

    def __init__(self, *, allow_zero: bool = False, allow_negative: bool = False, **kwargs):
        self.allow_zero = allow_zero
        self.allow_negative = allow_negative
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> Decimal:
        """The one amount parser (ledger.money.to_amount): ASCII digits only, nothing around them."""
        if not isinstance(data, str):
            self.fail("not_string")
        try:
            value = to_amount(data, positive=not self.allow_negative, allow_zero=self.allow_zero)
        except LedgerError as error:
            raise serializers.ValidationError(_messages(error))
        if not AMOUNT_RE.match(data):
            self.fail("invalid")
        return value

    def to_representation(self, value) -> str:
        return format(Decimal(value).quantize(QUANTUM), "f")

    @property
    def pattern_name(self) -> str:
        if self.allow_negative:
            return "signed"
        return "non_negative" if self.allow_zero else "positive"


class QuantityField(serializers.Field):
    """A whole number of at least 1, as a JSON integer (not "3", not 3.0): ledger.money.to_quantity.

    Its schema (integer, 1 to `maximum`) is in ledger/api/schema.py.
    """

    def __init__(self, *, maximum: int | None = None, **kwargs):
        self.maximum = maximum
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> int:
        try:
            return to_quantity(data, maximum=self.maximum)
        except LedgerError as error:
            raise serializers.ValidationError(_messages(error))

    def to_representation(self, value) -> int:
        return value


def render_amount(value) -> str | None:
    """An amount as the API renders it: a decimal string with 6 places (None stays None)."""
    return None if value is None else format(Decimal(value).quantize(QUANTUM), "f")


class CountryField(serializers.CharField):
    """An ISO 3166-1 alpha-2 country code in capitals (the schema lists them; ledger/api/schema.py)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 2)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not is_country(value):
            raise serializers.ValidationError(f"{value!r} is not an ISO 3166-1 alpha-2 country code.")
        return value


@extend_schema_field({"type": "string", "pattern": r"^\+[1-9]\d{6,14}$", "example": "+919812345678",
                      "nullable": True})
class PhoneNumberField(serializers.CharField):
    """An E.164 phone number (`+` and digits), returned in E.164 form."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        try:
            number = phonenumbers.parse(value, None)
        except phonenumbers.NumberParseException:
            raise serializers.ValidationError("Enter an E.164 phone number such as +919812345678.")
        if not value.startswith("+") or not phonenumbers.is_valid_number(number):
            raise serializers.ValidationError("Enter a valid E.164 phone number such as +919812345678.")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
