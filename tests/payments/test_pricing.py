"""Limits per currency (every boundary) and the tax arithmetic: intra-state, inter-state, foreign, rounding."""

from decimal import Decimal

import pytest

from ledger.errors import InvalidOperation
from payments.models import TaxRule, TopUpLimit
from payments.pricing import quote

pytestmark = pytest.mark.usefixtures("defaults")


@pytest.mark.parametrize(("currency", "amount", "ok"), [
    ("INR", "99.99", False), ("INR", "100", True), ("INR", "100.01", True), ("INR", "99999.99", True),
    ("INR", "100000", True), ("INR", "100000.01", False), ("INR", "0", False),
    ("USD", "4.99", False), ("USD", "5", True), ("USD", "5.01", True), ("USD", "1999.99", True),
    ("USD", "2000", True), ("USD", "2000.01", False),
])
def test_every_limit_boundary_per_currency(currency, amount, ok):
    country = "IN" if currency == "INR" else "US"
    if ok:
        assert quote(currency=currency, amount=amount, country=country, state="KA").amount == Decimal(amount)
    else:
        with pytest.raises(InvalidOperation) as caught:
            quote(currency=currency, amount=amount, country=country, state="KA")
        assert "amount" in caught.value.errors


def test_the_limit_message_names_the_limits():
    with pytest.raises(InvalidOperation) as caught:
        quote(currency="INR", amount="50", country="IN", state="KA")
    message = caught.value.errors["amount"][0]
    assert "₹100.00" in message and "₹100,000.00" in message


def test_a_currency_without_limits_is_refused_and_staff_can_add_one():
    with pytest.raises(InvalidOperation) as caught:
        quote(currency="EUR", amount="50", country="DE")
    assert "no top-up limits" in caught.value.errors["amount"][0]
    TopUpLimit.objects.create(currency="EUR", min_amount=Decimal("10"), max_amount=Decimal("500"))
    assert quote(currency="EUR", amount="50", country="DE").total == Decimal("50")


def test_amounts_finer_than_the_minor_unit_are_refused():
    with pytest.raises(InvalidOperation) as caught:
        quote(currency="INR", amount="100.005", country="IN", state="KA")
    assert "2 decimal places" in caught.value.errors["amount"][0]


def test_intra_state_gst_splits_into_cgst_and_sgst():
    priced = quote(currency="INR", amount="1000", country="IN", state="KA")  # the seller is in KA
    assert [(line.name, line.rate, line.amount) for line in priced.tax_lines] == [
        ("CGST", Decimal("9"), Decimal("90.00")), ("SGST", Decimal("9"), Decimal("90.00"))]
    assert priced.tax == Decimal("180.00") and priced.total == Decimal("1180.00")


def test_inter_state_gst_is_igst():
    priced = quote(currency="INR", amount="1000", country="IN", state="MH")
    assert [(line.name, line.rate, line.amount) for line in priced.tax_lines] == [
        ("IGST", Decimal("18"), Decimal("180.00"))]
    assert priced.total == Decimal("1180.00")


def test_an_inr_buyer_abroad_pays_igst_and_a_foreign_currency_pays_no_tax():
    abroad = quote(currency="INR", amount="1000", country="AE")
    assert [line.name for line in abroad.tax_lines] == ["IGST"]
    foreign = quote(currency="USD", amount="100", country="US")
    assert foreign.tax_lines == [] and foreign.total == Decimal("100")


@pytest.mark.parametrize("state", ["", "KA", "MH"])
def test_an_inr_buyer_abroad_pays_igst_18_whatever_state_they_type(state):
    """Default (the seeded any-country INR rule): a buyer outside India paying INR is charged IGST 18%, never
    CGST + SGST, even when their billing state reads like the seller's (KA is also a code outside India)."""
    priced = quote(currency="INR", amount="1000", country="US", state=state)
    assert [(line.name, line.rate, line.amount) for line in priced.tax_lines] == [
        ("IGST", Decimal("18"), Decimal("180.00"))]
    assert priced.total == Decimal("1180.00")


def test_a_zero_rated_export_is_a_country_rule_at_zero():
    """Exports under a Letter of Undertaking (LUT) are zero-rated: staff add a 0% INR rule for the buyer's
    country, which wins over the any-country rule; other countries keep IGST."""
    TaxRule.objects.create(currency="INR", country="US", name="IGST (export under LUT)", rate=Decimal("0"),
                           split_within_state=True)
    zero = quote(currency="INR", amount="1000", country="US")
    assert zero.tax_lines == [] and zero.total == Decimal("1000")
    assert [line.name for line in quote(currency="INR", amount="1000", country="AE").tax_lines] == ["IGST"]
    assert [line.name for line in quote(currency="INR", amount="1000", country="IN", state="KA").tax_lines] == [
        "CGST", "SGST"]


def test_rounding_is_half_up_to_the_paisa_per_line_on_the_invoice_amount():
    # 100.05 x 9% = 9.0045 -> 9.00 (each half); x 18% = 18.009 -> 18.01
    intra = quote(currency="INR", amount="100.05", country="IN", state="KA")
    assert [line.amount for line in intra.tax_lines] == [Decimal("9.00"), Decimal("9.00")]
    inter = quote(currency="INR", amount="100.05", country="IN", state="TN")
    assert inter.tax == Decimal("18.01")
    # exactly half a paisa rounds up: 102.50 x 9% = 9.225 -> 9.23
    assert quote(currency="INR", amount="102.50", country="IN", state="KA").tax_lines[0].amount == Decimal("9.23")
    # 102.50 x 18% = 18.45 exactly
    assert quote(currency="INR", amount="102.50", country="IN", state="DL").tax == Decimal("18.45")


def test_a_country_rule_beats_the_any_country_rule():
    TaxRule.objects.create(currency="USD", country="GB", name="VAT", rate=Decimal("20"))
    assert quote(currency="USD", amount="10", country="GB").tax == Decimal("2.00")
    assert quote(currency="USD", amount="10", country="US").tax == Decimal("0")
