"""Helpers shared by the rate card tests."""

from datetime import UTC, datetime

from ratecards import services
from tests.factories import SYSTEM


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def rate(channel, price, country=None, category=None) -> dict:
    return {"channel": channel, "country": country, "category": category, "unit_price": price}


def new_version(org, rates, at, effective_from=None, actor=SYSTEM, note=""):
    return services.rate_card_version_create(actor=actor, organization=org, rates=rates, at=at,
                                             effective_from=effective_from, note=note)
