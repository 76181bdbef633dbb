"""Serializer fields of the API: amounts as decimal strings only, ISO countries, E.164 numbers.

The OpenAPI schema of each field states exactly the rule the field applies (see ledger/api/schema.py).
"""

import re
from decimal import Decimal

import phonenumbers
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ledger.models import QUANTUM
from ratecards.countries import is_country

# ASCII digits only (\d would take "１２"), at most 14 before the point and 6 after, nothing around.
AMOUNT_DIGITS = r"[0-9]{1,14}(\.[0-9]{1,6})?"
AMOUNT_RE = re.compile(rf"^-?{AMOUNT_DIGITS}$")
AMOUNT_PATTERNS = {  # the same rules as regular expressions, for the schema
    "signed": rf"^-?{AMOUNT_DIGITS}$",
    "non_negative": rf"^{AMOUNT_DIGITS}$",
    "positive": rf"^(?!0*(\.0*)?$){AMOUNT_DIGITS}$",
}


class AmountField(serializers.Field):
    """A decimal string with at most 6 decimal places; JSON numbers are refused (no float ever)."""

    default_error_messages = {
        "not_string": 'Amounts must be decimal strings such as "12.5", not JSON numbers.',
        "invalid": 'Enter a decimal amount such as "12.5" (at most 6 decimal places, 14 digits before the point).',
        "not_positive": "The amount must be greater than zero.",
        "negative": "The amount must not be negative.",
    }

    def __init__(self, *, allow_zero: bool = False, allow_negative: bool = False, **kwargs):
        self.allow_zero = allow_zero
        self.allow_negative = allow_negative
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> Decimal:
        if not isinstance(data, str):
            self.fail("not_string")
        if not AMOUNT_RE.match(data):
            self.fail("invalid")
        value = Decimal(data)
        if not self.allow_negative:
            if data.startswith("-"):
                self.fail("negative" if self.allow_zero else "not_positive")
            if value == 0 and not self.allow_zero:
                self.fail("not_positive")
        return value.quantize(QUANTUM)

    def to_representation(self, value) -> str:
        return format(Decimal(value).quantize(QUANTUM), "f")

    @property
    def pattern_name(self) -> str:
        if self.allow_negative:
            return "signed"
        return "non_negative" if self.allow_zero else "positive"


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
