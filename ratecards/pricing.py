"""Pricing: the unit price of a send from the rate card version in force at an instant.

`price_for` runs on the charge hot path (before any lock is taken) and reads the database once:
the version in force (RateCardVersion.objects.in_force) is a subquery of the same statement that
fetches the candidate rates, compiled to SQL once per process. The ledger calls it through
ledger.pricing (registered in RatecardsConfig.ready).
Fallback order: (country, category) -> (country, any) -> (default, category) -> (default, any).
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import phonenumbers
from django.db.models import Q, QuerySet, Subquery
from django.utils import timezone

from ledger.compiled import SENTINEL_INSTANT, SENTINEL_UUID, CompiledQuery
from ledger.errors import InvalidOperation, NoRate
from ledger.models import Organization

from .countries import is_country
from .models import CHANNEL_CATEGORIES, PRICED_BY_COUNTRY, Channel, Rate, RateCardVersion


@dataclass(frozen=True)
class Price:
    """A unit price and where it came from."""

    unit_price: Decimal
    version: RateCardVersion
    country: str  # the destination country ("" if none given or the channel is not priced by country)
    category: str  # the requested category ("" for any)
    rate: Rate  # the rate row that matched (its country/category may be the default/any)


def version_in_force_subquery(organization_ref, at: datetime) -> Subquery:
    """A subquery of the id of the org's version in force at `at` (RateCardVersion.objects.in_force)."""
    return Subquery(RateCardVersion.objects.filter(organization=organization_ref).in_force(at).values("pk")[:1])


def has_version_in_force(organization: Organization, at: datetime) -> bool:
    return RateCardVersion.objects.filter(organization=organization).in_force(at).exists()


def country_for_recipient(recipient: str) -> str:
    """The ISO country of an E.164 phone number ("" for non-geographic numbers such as +800)."""
    message = "Enter a valid phone number in E.164 format, such as +919812345678."
    if not isinstance(recipient, str) or not recipient.strip().startswith("+"):
        raise InvalidOperation(errors={"recipient": [message]})
    try:
        number = phonenumbers.parse(recipient.strip(), None)
    except phonenumbers.NumberParseException:
        raise InvalidOperation(errors={"recipient": [message]})
    if not phonenumbers.is_valid_number(number):
        raise InvalidOperation(errors={"recipient": [f"{recipient} is not a valid phone number. {message}"]})
    region = phonenumbers.region_code_for_number(number)
    return region if region and region.isalpha() and len(region) == 2 else ""


def clean_channel(channel) -> str:
    """The channel code, or InvalidOperation naming the known channels."""
    if channel not in Channel.values:
        raise InvalidOperation(errors={"channel": [f"Unknown channel {channel!r}; choose one of {', '.join(Channel.values)}."]})
    return channel


def clean_country(country, field: str = "country") -> str:
    """An upper-case ISO 3166-1 alpha-2 code, "" for none, or InvalidOperation."""
    if country is None or country == "":
        return ""
    code = country.strip().upper() if isinstance(country, str) else ""
    if not is_country(code):
        raise InvalidOperation(errors={field: [f"{country!r} is not an ISO 3166-1 alpha-2 country code."]})
    return code


def clean_category(channel: str, category, field: str = "category") -> str:
    """The category valid for the channel ("" for any), or InvalidOperation."""
    if category is None or category == "":
        return ""
    allowed = CHANNEL_CATEGORIES[channel]
    if not allowed:
        raise InvalidOperation(errors={field: [f"The {channel} channel has no categories."]})
    if category not in allowed:
        raise InvalidOperation(errors={field: [f"Unknown {channel} category {category!r}; choose one of "
                                               f"{', '.join(sorted(allowed))}."]})
    return category


def _resolve_country(channel: str, country, recipient) -> str:
    country = clean_country(country)
    if recipient not in (None, "") and channel != Channel.EMAIL:
        derived = country_for_recipient(recipient)
        if country and derived and derived != country:
            raise InvalidOperation(errors={"country": [f"The recipient's number is in {derived}, not {country}."]})
        country = derived or country
    return country


def pick_rate(rates: dict[tuple[str, str], Rate], country: str, category: str) -> Rate | None:
    """The best rate by the fallback order, from rates keyed by (country, category)."""
    for key in ((country, category), (country, ""), ("", category), ("", "")):
        rate = rates.get(key)
        if rate is not None:
            return rate
    return None


def no_version_error(organization: Organization, at: datetime) -> NoRate:
    return NoRate(f"{organization.name} has no rate card in force at {at.isoformat()}.")


def candidate_rates_queryset(organization_id, at: datetime, channel: str, country: str,
                             category: str) -> QuerySet[Rate]:
    """The rates of the version in force at `at` that can price (channel, country, category), with their version."""
    return (Rate.objects.filter(version=version_in_force_subquery(organization_id, at), channel=channel)
            .filter(Q(country=country) | Q(country=""), Q(category=category) | Q(category=""))
            .select_related("version"))


# candidate_rates_queryset compiled once per process (the ORM would compile it again on every charge).
_CANDIDATE_RATES = CompiledQuery(
    candidate_rates_queryset, organization_id=SENTINEL_UUID, at=SENTINEL_INSTANT,
    channel="@channel@", country="@country@", category="@category@")


def _candidate_rates(organization_id, at: datetime, channel: str, country: str, category: str) -> list[Rate]:
    """The candidate rates (with their version) in one query, from SQL compiled once."""
    return _CANDIDATE_RATES(organization_id=organization_id, at=at, channel=channel, country=country,
                            category=category)


def price_for(*, organization: Organization, channel: str, country: str | None = None, recipient: str | None = None,
              category: str | None = None, at: datetime | None = None) -> Price:
    """The unit price of one unit of `channel` to `country` (or `recipient`'s country) at `at`, from the rate card."""
    channel = clean_channel(channel)
    category = clean_category(channel, category)
    country = _resolve_country(channel, country, recipient)
    at = at or timezone.now()
    lookup_country = country if PRICED_BY_COUNTRY[channel] else ""
    rates = {(rate.country, rate.category): rate
             for rate in _candidate_rates(organization.pk, at, channel, lookup_country, category)}
    rate = pick_rate(rates, lookup_country, category)
    if rate is None:
        if not has_version_in_force(organization, at):
            raise no_version_error(organization, at)
        where = f" to {country}" if lookup_country else ""
        kind = f" ({category})" if category else ""
        raise NoRate(f"The rate card of {organization.name} has no {channel}{kind} price{where} and no default.")
    return Price(unit_price=rate.unit_price, version=rate.version, country=country, category=category, rate=rate)
