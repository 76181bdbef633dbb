"""Rate card versions: validation, activation in several timezones, replacing and cancelling pending versions."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from ledger.errors import InvalidOperation
from ledger.services import Actor
from ratecards import services
from ratecards.models import Rate, RateCardVersion, VersionStatus
from ratecards.pricing import price_for
from tests.factories import UserFactory, make_org

from .helpers import new_version, rate, utc

pytestmark = pytest.mark.django_db

D = Decimal
IST = ZoneInfo("Asia/Kolkata")
NEW_YORK = ZoneInfo("America/New_York")


def statuses(org):
    return {v.number: v.status for v in RateCardVersion.objects.filter(organization=org)}


def test_first_version_is_in_force_at_once():
    org = make_org(timezone_name="Asia/Kolkata")
    at = utc(2026, 5, 10, 12, 0)
    version = new_version(org, [rate("sms", "0.25")], at=at)
    assert (version.number, version.status, version.effective_from) == (1, VersionStatus.CURRENT, at)
    assert price_for(organization=org, channel="sms", at=at).unit_price == D("0.25")


def test_kolkata_edit_at_2330_takes_effect_at_local_midnight():
    org = make_org(timezone_name="Asia/Kolkata")
    new_version(org, [rate("sms", "0.25")], at=utc(2026, 5, 1))
    edited_at = datetime(2026, 5, 10, 23, 30, tzinfo=IST)
    version = new_version(org, [rate("sms", "0.30")], at=edited_at)
    assert version.status == VersionStatus.PENDING
    assert version.effective_from == datetime(2026, 5, 11, 0, 0, tzinfo=IST)
    assert version.effective_from == utc(2026, 5, 10, 18, 30)
    just_before = version.effective_from - timedelta(microseconds=1)
    assert price_for(organization=org, channel="sms", at=just_before).unit_price == D("0.25")
    assert price_for(organization=org, channel="sms", at=version.effective_from).unit_price == D("0.30")


def test_new_york_edit_on_dst_start_day_takes_effect_at_edt_midnight():
    org = make_org(timezone_name="America/New_York", currency="USD")
    new_version(org, [rate("sms", "0.01")], at=utc(2026, 3, 1))
    # 8 March 2026: clocks jump from 02:00 EST to 03:00 EDT. Edit at 01:00 EST (06:00 UTC).
    version = new_version(org, [rate("sms", "0.02")], at=utc(2026, 3, 8, 6, 0))
    assert version.effective_from == datetime(2026, 3, 9, 0, 0, tzinfo=NEW_YORK)
    assert version.effective_from == utc(2026, 3, 9, 4, 0)  # EDT is UTC-4; the edit was made at UTC-5


def test_new_york_edit_on_dst_end_day_takes_effect_at_est_midnight():
    org = make_org(timezone_name="America/New_York", currency="USD")
    new_version(org, [rate("sms", "0.01")], at=utc(2026, 10, 1))
    # 1 November 2026: clocks fall back from 02:00 EDT to 01:00 EST. Edit at 23:00 EST (04:00 UTC next day).
    version = new_version(org, [rate("sms", "0.02")], at=utc(2026, 11, 2, 4, 0))
    assert version.effective_from == utc(2026, 11, 2, 5, 0)  # 2 Nov 00:00 EST
    # An edit just after local midnight on the change day: in force at 00:00 EST on 2 Nov, 25 hours later.
    version = new_version(org, [rate("sms", "0.03")], at=utc(2026, 11, 1, 4, 0, 1))
    assert version.effective_from == utc(2026, 11, 2, 5, 0)


def test_utc_org_edit_takes_effect_at_utc_midnight():
    org = make_org(timezone_name="UTC", currency="USD")
    new_version(org, [rate("sms", "0.01")], at=utc(2026, 6, 1))
    version = new_version(org, [rate("sms", "0.02")], at=utc(2026, 6, 1, 23, 59))
    assert version.effective_from == utc(2026, 6, 2)


def test_explicit_later_effective_from_is_honoured():
    org = make_org(timezone_name="Asia/Kolkata")
    new_version(org, [rate("sms", "0.25")], at=utc(2026, 5, 1))
    later = utc(2026, 6, 1, 6, 0)
    version = new_version(org, [rate("sms", "0.30")], at=utc(2026, 5, 10), effective_from=later)
    assert (version.effective_from, version.status) == (later, VersionStatus.PENDING)
    assert price_for(organization=org, channel="sms", at=utc(2026, 5, 31)).unit_price == D("0.25")
    assert price_for(organization=org, channel="sms", at=later).unit_price == D("0.30")


def test_effective_from_as_a_date_is_local_midnight_of_that_day():
    org = make_org(timezone_name="Asia/Kolkata")
    new_version(org, [rate("sms", "0.25")], at=utc(2026, 5, 1))
    version = new_version(org, [rate("sms", "0.30")], at=utc(2026, 5, 10), effective_from=date(2026, 5, 20))
    assert version.effective_from == datetime(2026, 5, 20, tzinfo=IST)


def test_earlier_effective_from_is_refused():
    org = make_org(timezone_name="Asia/Kolkata")
    new_version(org, [rate("sms", "0.25")], at=utc(2026, 5, 1))
    with pytest.raises(InvalidOperation) as caught:
        new_version(org, [rate("sms", "0.30")], at=utc(2026, 5, 10, 12), effective_from=utc(2026, 5, 10, 13))
    assert "next day at the earliest: 2026-05-11 00:00 IST" in caught.value.errors["effective_from"][0]
    assert RateCardVersion.objects.filter(organization=org).count() == 1


def test_new_pending_version_replaces_the_pending_one():
    org = make_org(timezone_name="Asia/Kolkata")
    new_version(org, [rate("sms", "0.25")], at=utc(2026, 5, 1))
    first_pending = new_version(org, [rate("sms", "0.30")], at=utc(2026, 5, 10, 10))
    second_pending = new_version(org, [rate("sms", "0.35")], at=utc(2026, 5, 10, 11))
    assert statuses(org) == {1: "current", 2: "cancelled", 3: "pending"}
    assert first_pending.effective_from == second_pending.effective_from
    assert price_for(organization=org, channel="sms", at=second_pending.effective_from).unit_price == D("0.35")
    assert price_for(organization=org, channel="sms", at=second_pending.effective_from).version.number == 3


def test_edit_after_a_pending_version_started_supersedes_it():
    org = make_org(timezone_name="UTC", currency="USD")
    new_version(org, [rate("sms", "1")], at=utc(2026, 5, 1))
    new_version(org, [rate("sms", "2")], at=utc(2026, 5, 1, 10))  # from 2 May 00:00
    new_version(org, [rate("sms", "3")], at=utc(2026, 5, 2, 10))  # the job never ran; v2 started anyway
    assert statuses(org) == {1: "superseded", 2: "current", 3: "pending"}


def test_cancel_pending_version_and_not_a_current_one():
    org = make_org(timezone_name="UTC", currency="USD")
    current = new_version(org, [rate("sms", "1")], at=utc(2026, 5, 1))
    pending = new_version(org, [rate("sms", "2")], at=utc(2026, 5, 1, 10))
    user = UserFactory()
    services.rate_card_version_cancel(actor=Actor(user=user), version=pending, at=utc(2026, 5, 1, 11))
    assert statuses(org) == {1: "current", 2: "cancelled"}
    assert price_for(organization=org, channel="sms", at=utc(2026, 5, 3)).unit_price == D("1")
    assert pending.history.latest().history_user == user
    with pytest.raises(InvalidOperation) as caught:
        services.rate_card_version_cancel(actor=Actor(user=user), version=current, at=utc(2026, 5, 1, 11))
    assert caught.value.errors == {"version": ["Only a pending version that has not started can be cancelled."]}


def test_activation_job_marks_due_versions_and_is_idempotent():
    org = make_org(timezone_name="Asia/Kolkata")
    other = make_org(name="Other", timezone_name="UTC", currency="USD")
    new_version(org, [rate("sms", "1")], at=utc(2026, 5, 1))
    pending = new_version(org, [rate("sms", "2")], at=utc(2026, 5, 10, 12))
    new_version(other, [rate("sms", "1")], at=utc(2026, 5, 1))
    assert services.rate_card_versions_activate(at=pending.effective_from - timedelta(seconds=1)) == []
    activated = services.rate_card_versions_activate(at=pending.effective_from)
    assert [v.pk for v in activated] == [pending.pk]
    assert statuses(org) == {1: "superseded", 2: "current"}
    assert services.rate_card_versions_activate(at=pending.effective_from + timedelta(hours=1)) == []
    assert statuses(org) == {1: "superseded", 2: "current"}
    assert statuses(other) == {1: "current"}


def test_first_version_with_later_effective_from_is_pending_until_then():
    org = make_org(timezone_name="UTC", currency="USD")
    version = new_version(org, [rate("sms", "1")], at=utc(2026, 5, 1), effective_from=utc(2026, 5, 3, 12))
    assert (version.status, version.effective_from) == ("pending", utc(2026, 5, 3, 12))


def test_numbers_are_sequential_and_rates_saved_with_history():
    org = make_org(timezone_name="UTC", currency="USD")
    user = UserFactory(username="priya", first_name="Priya", last_name="Rao")
    version = new_version(org, [rate("sms", "0.1"), rate("sms", "0.2", country="in"),
                                rate("whatsapp", "0.5", country="IN", category="marketing"),
                                rate("email", D("0.001"))], at=utc(2026, 5, 1), actor=Actor(user=user))
    assert version.created_by_label == "Priya Rao"
    rows = list(Rate.objects.filter(version=version).values_list("channel", "country", "category", "unit_price"))
    assert sorted(rows) == [("email", "", "", D("0.001")), ("sms", "", "", D("0.1")), ("sms", "IN", "", D("0.2")),
                            ("whatsapp", "IN", "marketing", D("0.5"))]
    assert Rate.history.filter(version_id=version.pk, history_user=user).count() == 4
    assert version.history.latest().history_user == user
    second = new_version(org, [rate("sms", "0.1")], at=utc(2026, 5, 2))
    assert second.number == 2 and second.created_by_label == "system"


@pytest.mark.parametrize(("rates", "key", "message"), [
    ([], "rates", "Give at least one rate."),
    ([rate("fax", "1")], "rates[0].channel", "Unknown channel 'fax'"),
    ([rate("sms", "1", country="XX")], "rates[0].country", "'XX' is not an ISO 3166-1 alpha-2 country code."),
    ([rate("sms", "1", country="IND")], "rates[0].country", "not an ISO 3166-1 alpha-2"),
    ([rate("sms", "-1")], "rates[0].unit_price", "A price cannot be negative."),
    ([rate("sms", "0.0000001")], "rates[0].unit_price", "At most 6 decimal places"),
    ([rate("sms", "abc")], "rates[0].unit_price", 'Enter a decimal amount such as "12.5".'),
    ([rate("sms", 0.5)], "rates[0].unit_price", "not floating-point"),
    ([rate("sms", None)], "rates[0].unit_price", "Enter a price."),
    ([rate("sms", "1", category="marketing")], "rates[0].category", "The sms channel has no categories."),
    ([rate("whatsapp", "1", category="promo")], "rates[0].category", "Unknown whatsapp category 'promo'"),
    ([rate("email", "1", country="IN")], "rates[0].country", "Email has one price for all countries"),
    ([rate("sms", "1", country="IN"), rate("sms", "2", country="in")], "rates[1].country", "Duplicate of rate 1"),
])
def test_invalid_rates_are_refused_with_field_messages(rates, key, message):
    org = make_org(timezone_name="UTC", currency="USD")
    with pytest.raises(InvalidOperation) as caught:
        new_version(org, rates, at=utc(2026, 5, 1))
    assert key in caught.value.errors, caught.value.errors
    assert message in " ".join(caught.value.errors[key])
    assert not RateCardVersion.objects.filter(organization=org).exists()


def test_zero_price_is_allowed():
    org = make_org(timezone_name="UTC", currency="USD")
    new_version(org, [rate("sms", "0")], at=utc(2026, 5, 1))
    assert price_for(organization=org, channel="sms", at=utc(2026, 5, 1)).unit_price == D("0")
