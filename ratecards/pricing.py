"""Pricing: the unit price of a send from the rate card version in force at an instant.

`price_for` runs on the charge hot path (before any lock is taken) and reads the database once:
the version in force is a subquery of the same statement that fetches the candidate rates.
Fallback order: (country, category) -> (country, any) -> (default, category) -> (default, any).
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import phonenumbers
from django.db import connection
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from ledger.errors import InvalidOperation, NoRate
from ledger.models import Organization

from .countries import is_country
from .models import CHANNEL_CATEGORIES, PRICED_BY_COUNTRY, Channel, Rate, RateCardVersion, VersionStatus


@dataclass(frozen=True)
class Price:
    """A unit price and where it came from."""

    unit_price: Decimal
    version: RateCardVersion
    country: str  # the destination country ("" if none given or the channel is not priced by country)
    category: str  # the requested category ("" for any)
    rate: Rate  # the rate row that matched (its country/category may be the default/any)


def version_in_force_subquery(organization_ref, at: datetime) -> Subquery:
    """A subquery of the id of the version in force at `at`: the newest non-cancelled with effective_from <= at."""
    return Subquery(
        RateCardVersion.objects.filter(organization=organization_ref, effective_from__lte=at)
        .exclude(status=VersionStatus.CANCELLED)
        .order_by("-effective_from", "-number")
        .values("pk")[:1]
    )


def versions_in_force(at: datetime) -> QuerySet[RateCardVersion]:
    """Every org's version in force at `at` (one per org that has one)."""
    return RateCardVersion.objects.filter(pk=version_in_force_subquery(OuterRef("organization"), at))


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


_RATE_FIELDS = ("id", "version_id", "channel", "country", "category", "unit_price")
_VERSION_FIELDS = ("id", "organization_id", "number", "effective_from", "status", "created_at", "created_by_id",
                   "created_by_service", "note")
# The hot-path query as plain SQL (the statement the ORM builds from `version_in_force_subquery`, without
# compiling it on every charge): the rates of the version in force that match, with their version's columns.
_CANDIDATES_SQL = """
SELECT r.id, r.version_id, r.channel, r.country, r.category, r.unit_price,
       v.id, v.organization_id, v.number, v.effective_from, v.status, v.created_at, v.created_by_id,
       v.created_by_service, v.note
FROM ratecards_rate r JOIN ratecards_ratecardversion v ON v.id = r.version_id
WHERE r.version_id = (
    SELECT u.id FROM ratecards_ratecardversion u
    WHERE u.organization_id = %s AND u.effective_from <= %s AND u.status <> 'cancelled'
    ORDER BY u.effective_from DESC, u.number DESC LIMIT 1)
  AND r.channel = %s AND r.country IN (%s, '') AND r.category IN (%s, '')
"""


def _candidate_rates(organization_id, at: datetime, channel: str, country: str, category: str) -> list[Rate]:
    """The rates of the version in force that can price (channel, country, category), in one query."""
    if connection.vendor != "postgresql":  # the embedded SQLite default: let the ORM convert its values
        return list(Rate.objects.filter(version=version_in_force_subquery(organization_id, at), channel=channel,
                                        country__in={country, ""}, category__in={category, ""})
                    .select_related("version"))
    with connection.cursor() as cursor:
        cursor.execute(_CANDIDATES_SQL, [organization_id, at, channel, country, category])
        rows = cursor.fetchall()
    rates, version = [], None
    split = len(_RATE_FIELDS)
    for row in rows:
        if version is None:
            version = RateCardVersion.from_db(connection.alias, _VERSION_FIELDS, row[split:])
        rate = Rate.from_db(connection.alias, _RATE_FIELDS, row[:split])
        rate.version = version
        rates.append(rate)
    return rates


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
        if not RateCardVersion.objects.filter(organization=organization, effective_from__lte=at).exclude(
                status=VersionStatus.CANCELLED).exists():
            raise no_version_error(organization, at)
        where = f" to {country}" if lookup_country else ""
        kind = f" ({category})" if category else ""
        raise NoRate(f"The rate card of {organization.name} has no {channel}{kind} price{where} and no default.")
    return Price(unit_price=rate.unit_price, version=rate.version, country=country, category=category, rate=rate)
