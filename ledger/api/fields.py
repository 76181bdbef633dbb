"""Serializer fields of the API: amounts as decimal strings only, ISO countries, E.164 numbers."""

from decimal import Decimal

import phonenumbers
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ledger.errors import LedgerError
from ledger.money import QUANTUM, to_amount, to_quantity
from ratecards.countries import is_country


def _messages(error: LedgerError) -> list[str]:
    return [message for messages in error.errors.values() for message in messages] or [error.detail]


@extend_schema_field({"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d+)?$", "example": "12.5"})
class AmountField(serializers.Field):
    """A decimal string with at most 6 decimal places; JSON numbers are refused (no float ever)."""

    default_error_messages = {"not_string": 'Amounts must be decimal strings such as "12.5", not JSON numbers.'}

    def __init__(self, *, allow_zero: bool = False, allow_negative: bool = False, **kwargs):
        self.allow_zero = allow_zero
        self.allow_negative = allow_negative
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> Decimal:
        """The one amount parser (ledger.money.to_amount): ASCII digits only, nothing around them."""
        if not isinstance(data, str):
            self.fail("not_string")
        try:
            return to_amount(data, positive=not self.allow_negative, allow_zero=self.allow_zero)
        except LedgerError as error:
            raise serializers.ValidationError(_messages(error))

    def to_representation(self, value) -> str:
        return format(Decimal(value).quantize(QUANTUM), "f")


@extend_schema_field({"type": "integer", "minimum": 1, "example": 3})
class QuantityField(serializers.Field):
    """A whole number of at least 1, as a JSON integer (not "3", not 3.0): ledger.money.to_quantity."""

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


@extend_schema_field({"type": "string", "pattern": "^[A-Z]{2}$", "example": "IN", "nullable": True})
class CountryField(serializers.CharField):
    """An ISO 3166-1 alpha-2 country code (upper-cased)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 2)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data).upper()
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
