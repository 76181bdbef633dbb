"""The one money formatter and the one time formatter: what every screen, email and export shows."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.template import Context, Template

from ledger.currencies import CURRENCIES, currency_choices
from ledger.money import money, plain_decimal, rate
from ledger.times import iso_time, local_date, local_month, local_time

MOMENT = datetime(2026, 12, 1, 18, 30, tzinfo=UTC)


@pytest.mark.parametrize(("amount", "currency", "shown"), [
    ("-12200.8365", "USD", "-$12,200.84"),  # minor units on screens, half-up
    ("278.484", "INR", "₹278.48"),
    ("278.485", "INR", "₹278.49"),
    ("40000.000000", "INR", "₹40,000.00"),
    ("1234.5", "JPY", "¥1,235"),  # no minor unit
    ("1.2345", "KWD", "KWD1.235"),  # three minor digits
    ("-0.004", "INR", "₹0.00"),  # never a negative zero
    (None, "INR", "—"),
])
def test_money_shows_the_currency_symbol_and_its_minor_units(amount, currency, shown):
    assert money(None if amount is None else Decimal(amount), currency) == shown


def test_money_with_the_iso_code_for_fonts_without_the_symbol():
    assert money(Decimal("1180"), "INR", code=True) == "INR 1,180.00"
    assert money(Decimal("1234.5"), "JPY", code=True) == "JPY 1,235"
    assert money(Decimal("1.2345"), "KWD", code=True) == "KWD 1.235"
    assert money(Decimal("-0.001"), "USD", code=True) == "USD 0.00"


def test_rates_keep_the_precision_a_unit_price_needs():
    assert rate(Decimal("0.007900"), "USD") == "$0.0079"
    assert rate(Decimal("0.250000"), "INR") == "₹0.25"
    assert rate(Decimal("2"), "JPY") == "¥2"


def test_csv_cells_are_plain_decimals_with_a_fixed_number_of_places():
    assert plain_decimal(Decimal("8331.05000000000")) == "8331.050000"
    assert plain_decimal(Decimal("13075")) == "13075.000000"
    assert plain_decimal(Decimal("-1.5"), 2) == "-1.50"
    assert plain_decimal(None) == ""


def test_templates_format_through_the_same_functions():
    rendered = Template("{% load finance_charts %}{{ a|money:'INR' }} {{ p|rate:'USD' }}").render(
        Context({"a": Decimal("-12200.8365"), "p": Decimal("0.0079")}))
    assert rendered == "-₹12,200.84 $0.0079"


@pytest.mark.parametrize(("zone", "shown"), [
    ("Asia/Kolkata", "2026-12-02 00:00 IST"),
    ("America/New_York", "2026-12-01 13:30 EST"),
    ("UTC", "2026-12-01 18:30 UTC"),
    ("Asia/Dubai", "2026-12-01 22:30 Asia/Dubai"),  # only an offset exists: the zone's name instead
    ("Mars/Base", "2026-12-01 18:30 UTC"),  # an unsaved, invalid zone never breaks a page
])
def test_times_are_shown_in_the_org_timezone_with_the_zone_named(zone, shown):
    assert local_time(MOMENT, zone) == shown


def test_dates_months_and_csv_times():
    assert local_date(MOMENT, "Asia/Kolkata") == "2026-12-02"
    assert local_month(MOMENT, "America/New_York") == "2026-12"
    assert local_date(date(2026, 1, 31)) == "2026-01-31"
    assert iso_time(MOMENT, "Asia/Kolkata") == "2026-12-02T00:00:00+05:30"
    assert local_time(None) == "—" and iso_time(None) == ""
    rendered = Template("{% load times %}{{ m|local_time:'Asia/Kolkata' }}").render(Context({"m": MOMENT}))
    assert rendered == "2026-12-02 00:00 IST"


def test_django_s_own_date_rendering_uses_the_same_format():
    from django.utils import formats, timezone

    with timezone.override("Asia/Kolkata"):
        assert formats.date_format(timezone.localtime(MOMENT), "DATETIME_FORMAT") == "2026-12-02 00:00 IST"


def test_currencies_are_the_active_iso_4217_ones_common_first():
    assert {"INR", "USD", "EUR", "AED", "VES"} <= CURRENCIES
    assert not {"DEM", "FRF", "ZWD", "XXX", "XTS", "HRK"} & CURRENCIES
    (common_label, common), (_, others) = currency_choices()
    assert common_label == "Common" and [code for code, _ in common][:2] == ["INR", "USD"]
    assert dict(common)["INR"] == "INR — Indian Rupee"
    assert [code for code, _ in others] == sorted(code for code, _ in others)
    assert len(common) + len(others) == len(CURRENCIES) < 200
