"""Estimates: the seed example, per-country lines, available/sufficient/shortfall, one query for the rates."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ledger import services as ledger
from ledger.errors import InvalidOperation, NoRate
from ledger.models import Transaction
from ratecards.estimates import Estimate, EstimateLine, estimate
from tests.factories import SYSTEM, make_org, make_subaccount

from .helpers import new_version, rate, utc

pytestmark = pytest.mark.django_db

D = Decimal
T0 = utc(2026, 5, 1)


@pytest.fixture
def org():
    organization = make_org(timezone_name="Asia/Kolkata")
    ledger.credits_grant(actor=SYSTEM, account=organization.master_account, amount="20000", expires_in="never", at=T0)
    new_version(organization, [rate("xengage", "0.9"), rate("sms", "0.25"), rate("sms", "0.10", country="IN"),
                               rate("sms", "0.40", country="AE"), rate("whatsapp", "0.7", category="marketing")],
                at=T0)
    return organization


def test_seed_example_xengage_20000_customers_costs_18000(org):
    result = estimate(account=org.master_account, channel="xengage", audience_size=20000, at=T0)
    assert result == Estimate(currency="INR", total=D("18000"), available=D("20000"), sufficient=True,
                              shortfall=D("0"),
                              lines=[EstimateLine(country=None, quantity=20000, unit_price=D("0.9"),
                                                  amount=D("18000"))])
    assert result.rate_card_version.number == 1


def test_audience_by_country_with_default_fallback_and_shortfall(org):
    with CaptureQueriesContext(connection) as queries:
        result = estimate(account=org.master_account, channel="sms", audience={"IN": 120000, "ae": 5000, "US": 1000},
                          at=T0)
    rate_queries = [q for q in queries.captured_queries if "ratecards_rate" in q["sql"]]
    assert len(rate_queries) == 1
    assert [(line.country, line.quantity, line.unit_price, line.amount) for line in result.lines] == [
        ("AE", 5000, D("0.40"), D("2000")), ("IN", 120000, D("0.10"), D("12000")), ("US", 1000, D("0.25"), D("250"))]
    assert (result.total, result.available, result.sufficient, result.shortfall) == (
        D("14250"), D("20000"), True, D("0"))
    result = estimate(account=org.master_account, channel="sms", audience={"IN": 250000}, at=T0)
    assert (result.total, result.sufficient, result.shortfall) == (D("25000"), False, D("5000"))


def test_estimate_is_read_only(org):
    count = Transaction.objects.count()
    estimate(account=org.master_account, channel="sms", audience={"IN": 10}, at=T0)
    assert Transaction.objects.count() == count


def test_available_counts_holds_and_credit_limit(org):
    master = org.master_account
    ledger.hold_create(actor=SYSTEM, account=master, amount="5000", at=T0)
    ledger.credit_limit_set(actor=SYSTEM, account=master, amount="1000")
    master.refresh_from_db()
    result = estimate(account=master, channel="xengage", audience_size=20000, at=T0)
    assert (result.available, result.sufficient, result.shortfall) == (D("16000"), False, D("2000"))


def test_shared_subaccount_sees_the_masters_available(org):
    team = make_subaccount(org, balance_mode="shared")
    result = estimate(account=team, channel="xengage", audience_size=100, at=T0)
    assert (result.available, result.total) == (D("20000"), D("90"))


def test_own_subaccount_sees_its_own_available(org):
    team = make_subaccount(org, balance_mode="own")
    result = estimate(account=team, channel="xengage", audience_size=100, at=T0)
    assert (result.available, result.sufficient, result.shortfall) == (D("0"), False, D("90"))


def test_category_price_and_missing_price(org):
    result = estimate(account=org.master_account, channel="whatsapp", category="marketing", audience={"IN": 10},
                      at=T0)
    assert result.total == D("7")
    with pytest.raises(NoRate) as caught:
        estimate(account=org.master_account, channel="whatsapp", category="utility", audience={"IN": 10}, at=T0)
    assert "no whatsapp (utility) price for IN" in caught.value.detail
    with pytest.raises(NoRate) as caught:
        estimate(account=org.master_account, channel="email", audience_size=10, at=T0)
    assert caught.value.code == "no_rate"


@pytest.mark.parametrize(("kwargs", "field"), [
    ({}, "audience"),
    ({"audience": {"IN": 1}, "audience_size": 1}, "audience"),
    ({"audience": {}}, "audience"),
    ({"audience": {"XX": 1}}, "audience"),
    ({"audience": {"IN": -1}}, "audience"),
    ({"audience": {"IN": 1.5}}, "audience"),
    ({"audience_size": True}, "audience_size"),
    ({"audience_size": -5}, "audience_size"),
])
def test_invalid_audience(org, kwargs, field):
    with pytest.raises(InvalidOperation) as caught:
        estimate(account=org.master_account, channel="sms", at=T0, **kwargs)
    assert field in caught.value.errors
