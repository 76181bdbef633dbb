"""ledger.money: the one amount and quantity parser, rounding, and the one formatter."""

import random
from decimal import ROUND_HALF_UP, Decimal

import pytest
from babel.numbers import format_currency, get_currency_precision

from ledger.currencies import CURRENCIES, minor_unit
from ledger.errors import InvalidOperation
from ledger.money import SYSTEM, Actor, charge_amount, money, rate, to_amount, to_quantity

D = Decimal


@pytest.mark.parametrize("bad", ["1E+30", "-1E+30", "1e-30", "1e1", "NaN", "Infinity", "", " ", "1,5", "１２",
                                 " 12", "12 ", "\u0661\u0662", "+1", ".5", "5.", 1.5, True, None, [1]])
def test_amount_parsing_refuses_out_of_range_and_malformed_values(bad):
    with pytest.raises(InvalidOperation):
        to_amount(bad)


@pytest.mark.parametrize(("value", "expected"), [("12", D("12")), ("0.000001", D("0.000001")), (7, D("7")),
                                                 (D("2.50"), D("2.5")), ("99999999999999.999999", None)])
def test_amount_parsing_accepts_decimal_strings_ints_and_decimals(value, expected):
    assert to_amount(value) == (expected if expected is not None else D(value))


def _message(parse, *args, **kwargs) -> str:
    with pytest.raises(InvalidOperation) as caught:
        parse(*args, **kwargs)
    return " ".join(message for messages in caught.value.errors.values() for message in messages)


def test_amount_sign_and_places():
    assert "greater than zero" in _message(to_amount, "0")
    assert to_amount("0", allow_zero=True) == 0
    assert "must not be negative" in _message(to_amount, "-1", allow_zero=True)
    assert to_amount("-1", positive=False) == D("-1")
    assert "6 decimal places" in _message(to_amount, "0.0000001")
    assert "too large" in _message(to_amount, "100000000000000")


@pytest.mark.parametrize("bad", ["3", 3.0, True, 0, -2, None])
def test_quantity_is_an_int_of_at_least_one(bad):
    with pytest.raises(InvalidOperation):
        to_quantity(bad)
    assert to_quantity(3) == 3
    assert "at most 10" in _message(to_quantity, 11, maximum=10)


def test_charge_amount_rounds_half_up_to_six_places():
    assert charge_amount(D("0.0000015"), 3) == D("0.000005")
    assert charge_amount(D("0.333333"), 3) == D("0.999999")


@pytest.mark.parametrize(("amount", "currency", "shown", "as_rate"), [
    (D("1234.5"), "INR", "₹1,234.50", "₹1,234.50"),
    (D("-1234.5"), "INR", "-₹1,234.50", "-₹1,234.50"),
    (D("0.000125"), "USD", "$0.00", "$0.000125"),
    (D("1234"), "JPY", "¥1,234", "¥1,234"),
    (D("3.333333"), "USD", "$3.33", "$3.333333"),
])
def test_one_formatter_for_people_shows_minor_units_and_rates_keep_every_digit(amount, currency, shown, as_rate):
    assert money(amount, currency) == shown
    assert rate(amount, currency) == as_rate
    assert money(None, currency) == "—" and rate(None, currency) == "—"


def test_actor_scopes_and_labels():
    assert SYSTEM.caller == "service:system" and SYSTEM.actor_fields() == {"actor_user": None, "actor_service": "system"}
    token = Actor(service="campaign-engine", token_id=7)
    assert token.caller == "token:7" and token.creator_fields()["created_by_service"] == "campaign-engine"


def _amounts():
    """Amounts of every magnitude and sign, with 0 to 7 decimal places, halves and zeros."""
    rng = random.Random(19)
    values = [Decimal(text) for text in ("0", "-0", "0.000000", "-0.000000", "0.005", "-0.005", "0.0049999",
                                         "0.5", "-0.5", "1.005", "999.995", "-999.995", "1234567.891",
                                         "99999999999999.999999", "-99999999999999.999999", "12", "0.0079")]
    for _ in range(400):
        digits = rng.randint(1, 20)
        values.append(Decimal(rng.randint(-10 ** digits, 10 ** digits)).scaleb(-rng.randint(0, 7)))
    return values


@pytest.mark.parametrize("currency", sorted(CURRENCIES | {"", "XXX", "CLF", "BHD", "JPY", "XOF"}))
def test_fast_formatting_matches_babel_for_every_currency(currency):
    """money and rate learn each currency's affixes from Babel once; their output is Babel's, digit for digit."""
    for value in _amounts():
        shown = value.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)
        expected = format_currency(abs(shown) if shown == 0 else shown, currency, locale="en")
        assert money(value, currency) == expected, (value, currency)
        pattern = "¤#,##0." + "0" * get_currency_precision(currency) + "#" * max(0, 6 - get_currency_precision(currency))
        expected_rate = format_currency(value, currency, locale="en", format=pattern, currency_digits=False)
        assert rate(value, currency) == expected_rate, (value, currency)
