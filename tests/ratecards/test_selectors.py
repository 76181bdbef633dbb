"""Rate card reads: current and pending versions, history with rate-by-rate diffs, channel metadata."""

from decimal import Decimal

import pytest

from ledger.services import Actor
from ratecards.models import channel_list
from ratecards.selectors import rate_card_current, rate_card_history, rate_card_pending
from tests.factories import UserFactory, make_org

from .helpers import new_version, rate, utc

pytestmark = pytest.mark.django_db

D = Decimal


def test_current_and_pending_by_instant():
    org = make_org(timezone_name="UTC", currency="USD")
    assert rate_card_current(org, at=utc(2026, 5, 1)) is None
    v1 = new_version(org, [rate("sms", "1")], at=utc(2026, 5, 1))
    v2 = new_version(org, [rate("sms", "2"), rate("email", "0.01")], at=utc(2026, 5, 1, 10))
    assert rate_card_current(org, at=utc(2026, 5, 1, 11)) == v1
    pending = rate_card_pending(org, at=utc(2026, 5, 1, 11))
    assert pending == [v2]
    assert [(r.channel, r.unit_price) for r in pending[0].rates.all()] == [("email", D("0.01")), ("sms", D("2"))]
    assert rate_card_current(org, at=utc(2026, 5, 2)) == v2
    assert rate_card_pending(org, at=utc(2026, 5, 2)) == []


def test_history_lists_every_version_with_changes_against_what_it_replaced():
    org = make_org(timezone_name="UTC", currency="USD")
    user = UserFactory(username="ops")
    new_version(org, [rate("sms", "1"), rate("sms", "0.5", country="IN")], at=utc(2026, 5, 1), actor=Actor(user=user))
    new_version(org, [rate("sms", "2")], at=utc(2026, 5, 1, 10), note="typo")  # cancelled by the next one
    new_version(org, [rate("sms", "1"), rate("sms", "0.6", country="IN"),
                      rate("whatsapp", "0.3", category="utility")], at=utc(2026, 5, 1, 11))
    history = rate_card_history(org)
    assert [(h["number"], h["status"], h["created_by"]) for h in history] == [
        (3, "pending", "system"), (2, "cancelled", "system"), (1, "current", "ops")]
    assert history[2]["changes"] == [
        {"channel": "sms", "country": None, "category": None, "old_price": None, "new_price": D("1")},
        {"channel": "sms", "country": "IN", "category": None, "old_price": None, "new_price": D("0.5")},
    ]
    assert history[1]["changes"] == [
        {"channel": "sms", "country": None, "category": None, "old_price": D("1"), "new_price": D("2")},
        {"channel": "sms", "country": "IN", "category": None, "old_price": D("0.5"), "new_price": None},
    ]
    assert history[1]["note"] == "typo"
    assert history[0]["changes"] == [  # against v1: v2 was cancelled
        {"channel": "sms", "country": "IN", "category": None, "old_price": D("0.5"), "new_price": D("0.6")},
        {"channel": "whatsapp", "country": None, "category": "utility", "old_price": None, "new_price": D("0.3")},
    ]


def test_channel_list():
    channels = {c["code"]: c for c in channel_list()}
    assert set(channels) == {"sms", "email", "whatsapp", "xengage"}
    assert channels["email"]["priced_by_country"] is False
    assert channels["whatsapp"]["unit"] == "conversation"
    assert channels["whatsapp"]["categories"] == ["marketing", "utility", "authentication", "service"]
    assert channels["xengage"]["name"] == "X-Engage"
