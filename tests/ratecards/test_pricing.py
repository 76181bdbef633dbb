"""Pricing: fallback order, recipients' countries, errors, query count, and charges priced across an activation."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ledger import services as ledger
from ledger.errors import InvalidOperation, NoRate
from ledger.models import Transaction
from ratecards.pricing import _candidate_rates, candidate_rates_queryset, country_for_recipient, price_for
from tests.factories import SYSTEM, make_org, make_subaccount

from .helpers import new_version, rate, utc

pytestmark = pytest.mark.django_db

D = Decimal
T0 = utc(2026, 5, 1)

FULL_CARD = [
    rate("whatsapp", "0.80", country="IN", category="marketing"),
    rate("whatsapp", "0.30", country="IN"),
    rate("whatsapp", "0.60", category="marketing"),
    rate("whatsapp", "0.20"),
    rate("sms", "0.15", country="IN"),
    rate("sms", "0.0525", country="US"),
    rate("sms", "0.40", country="GB"),
    rate("sms", "0.50"),
    rate("email", "0.002"),
    rate("xengage", "0.9"),
]


@pytest.fixture
def org():
    organization = make_org(timezone_name="Asia/Kolkata")
    new_version(organization, FULL_CARD, at=T0)
    return organization


def price(org, **kwargs):
    return price_for(organization=org, at=T0, **kwargs)


def test_fallback_country_and_category(org):
    result = price(org, channel="whatsapp", country="IN", category="marketing")
    assert (result.unit_price, result.rate.country, result.rate.category) == (D("0.80"), "IN", "marketing")
    assert (result.country, result.category, result.version.number) == ("IN", "marketing", 1)


def test_fallback_country_any_category(org):
    result = price(org, channel="whatsapp", country="IN", category="utility")
    assert (result.unit_price, result.rate.country, result.rate.category) == (D("0.30"), "IN", "")


def test_fallback_default_country_with_category(org):
    result = price(org, channel="whatsapp", country="BR", category="marketing")
    assert (result.unit_price, result.rate.country, result.rate.category) == (D("0.60"), "", "marketing")
    assert result.country == "BR"


def test_fallback_default_country_any_category(org):
    result = price(org, channel="whatsapp", country="BR", category="service")
    assert (result.unit_price, result.rate.country, result.rate.category) == (D("0.20"), "", "")
    assert price(org, channel="whatsapp").unit_price == D("0.20")


def test_sms_by_country_then_default(org):
    assert price(org, channel="sms", country="in").unit_price == D("0.15")
    assert price(org, channel="sms", country="FR").unit_price == D("0.50")
    assert price(org, channel="sms").unit_price == D("0.50")


def test_email_has_one_price_for_all_countries(org):
    assert price(org, channel="email", country="US").unit_price == D("0.002")
    assert price(org, channel="email", recipient="someone@example.com").unit_price == D("0.002")


@pytest.mark.parametrize(("recipient", "country", "unit_price"), [
    ("+919812345678", "IN", "0.15"),
    ("+12025550123", "US", "0.0525"),
    ("+447400123456", "GB", "0.40"),
    ("+4915112345678", "DE", "0.50"),
    ("+80012345678", "", "0.50"),  # non-geographic: the default price
    ("+33612345678", "FR", "0.50"),
    ("+5511987654321", "BR", "0.50"),
])
def test_recipients_from_several_countries(org, recipient, country, unit_price):
    result = price(org, channel="sms", recipient=recipient)
    assert (result.country, result.unit_price) == (country, D(unit_price))
    assert country_for_recipient(recipient) == country
    assert result.rate.country == ("" if unit_price == "0.50" else country)


@pytest.mark.parametrize("recipient", ["+9112", "919812345678", "+1 999 000 0000", "hello", "+"])
def test_invalid_phone_number_is_a_clear_validation_error(org, recipient):
    with pytest.raises(InvalidOperation) as caught:
        price(org, channel="sms", recipient=recipient)
    assert caught.value.status == 400 and caught.value.code == "invalid"
    assert "E.164" in caught.value.errors["recipient"][0]


def test_recipient_in_another_country_than_given_is_refused(org):
    with pytest.raises(InvalidOperation) as caught:
        price(org, channel="sms", country="US", recipient="+919812345678")
    assert caught.value.errors == {"country": ["The recipient's number is in IN, not US."]}
    assert price(org, channel="sms", country="IN", recipient="+919812345678").unit_price == D("0.15")


@pytest.mark.parametrize(("kwargs", "field", "message"), [
    ({"channel": "fax"}, "channel", "Unknown channel 'fax'"),
    ({"channel": "sms", "country": "XX"}, "country", "not an ISO 3166-1 alpha-2"),
    ({"channel": "sms", "category": "marketing"}, "category", "The sms channel has no categories."),
    ({"channel": "whatsapp", "category": "promo"}, "category", "Unknown whatsapp category"),
])
def test_bad_channel_country_or_category(org, kwargs, field, message):
    with pytest.raises(InvalidOperation) as caught:
        price(org, **kwargs)
    assert message in caught.value.errors[field][0]


def test_no_price_and_no_version_are_no_rate():
    org = make_org(timezone_name="UTC", currency="USD")
    with pytest.raises(NoRate) as caught:
        price_for(organization=org, channel="sms", at=T0)
    assert (caught.value.status, caught.value.code) == (422, "no_rate")
    assert "has no rate card in force" in caught.value.detail
    new_version(org, [rate("sms", "0.1", country="IN")], at=T0)
    with pytest.raises(NoRate) as caught:
        price_for(organization=org, channel="sms", country="US", at=T0)
    assert "no sms price to US and no default" in caught.value.detail
    with pytest.raises(NoRate):
        price_for(organization=org, channel="sms", country="IN", at=T0 - timedelta(seconds=1))


def test_pricing_reads_the_database_once(org):
    with CaptureQueriesContext(connection) as queries:
        price(org, channel="whatsapp", recipient="+919812345678", category="utility")
    assert len(queries) == 1


def test_charge_just_before_and_after_activation_uses_old_and_new_version():
    org = make_org(timezone_name="Asia/Kolkata")
    master = org.master_account
    ledger.credits_grant(actor=SYSTEM, account=master, amount="1000", expires_in="never", at=T0)
    old = new_version(org, [rate("sms", "0.25"), rate("sms", "0.10", country="IN")], at=T0)
    new = new_version(org, [rate("sms", "0.30"), rate("sms", "0.12", country="IN")], at=utc(2026, 5, 10, 18, 0))
    assert new.effective_from == utc(2026, 5, 10, 18, 30)  # 11 May 00:00 IST
    before = ledger.charge_create(actor=SYSTEM, account=master, channel="sms", recipient="+919812345678",
                                  quantity=10, at=new.effective_from - timedelta(seconds=1))
    after = ledger.charge_create(actor=SYSTEM, account=master, channel="sms", recipient="+919812345678",
                                 quantity=10, at=new.effective_from)
    before, after = Transaction.objects.get(pk=before.pk), Transaction.objects.get(pk=after.pk)
    assert (before.unit_price, before.amount, before.rate_card_version_id, before.country) == (
        D("0.10"), D("1.00"), old.pk, "IN")
    assert (after.unit_price, after.amount, after.rate_card_version_id, after.country) == (
        D("0.12"), D("1.20"), new.pk, "IN")
    master.refresh_from_db()
    assert master.balance == D("997.80")


def test_shared_subaccount_charge_is_priced_from_the_org_card():
    org = make_org(timezone_name="UTC", currency="USD")
    ledger.credits_grant(actor=SYSTEM, account=org.master_account, amount="10", expires_in="never", at=T0)
    version = new_version(org, [rate("whatsapp", "0.5", category="authentication")], at=T0)
    team = make_subaccount(org, balance_mode="shared")
    txn = ledger.charge_create(actor=SYSTEM, account=team, channel="whatsapp", category="authentication",
                               country="DE", quantity=3, at=T0 + timedelta(hours=1))
    assert (txn.amount, txn.unit_price, txn.rate_card_version_id) == (D("1.5"), D("0.5"), version.pk)


def test_charge_without_a_price_is_no_rate_and_writes_nothing():
    org = make_org(timezone_name="UTC", currency="USD")
    ledger.credits_grant(actor=SYSTEM, account=org.master_account, amount="10", expires_in="never", at=T0)
    new_version(org, [rate("sms", "0.5", country="IN")], at=T0)
    count = Transaction.objects.count()
    with pytest.raises(NoRate):
        ledger.charge_create(actor=SYSTEM, account=org.master_account, channel="sms", country="US", at=T0)
    assert Transaction.objects.count() == count


@pytest.mark.parametrize(("channel", "country", "category"), [
    ("whatsapp", "IN", "marketing"), ("whatsapp", "US", ""), ("sms", "GB", ""), ("sms", "", ""), ("email", "", ""),
])
def test_the_compiled_hot_path_query_is_the_in_force_queryset(org, postgres_only, channel, country, category):
    """_candidate_rates runs the SQL of candidate_rates_queryset compiled once: the same rows, across versions."""
    new_version(org, [rate("sms", "0.11"), rate("whatsapp", "0.22", country="US")], at=T0 + timedelta(hours=1))
    for at in (T0 - timedelta(days=1), T0, T0 + timedelta(days=1), T0 + timedelta(days=2)):
        expected = {(r.pk, r.unit_price, r.version.number)
                    for r in candidate_rates_queryset(org.pk, at, channel, country, category)}
        compiled = {(r.pk, r.unit_price, r.version.number)
                    for r in _candidate_rates(org.pk, at, channel, country, category)}
        assert compiled == expected
