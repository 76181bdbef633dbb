"""Estimates: what a campaign would cost from the rate card in force, and whether the account can pay.

Read-only. The rates of the channel come in one query (the version in force is a subquery), then
each country of the audience is priced in memory with the fallback order of `pricing.price_for`.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from ledger.errors import InvalidOperation, NoRate
from ledger.models import ZERO, Account
from ledger.money import charge_amount

from .models import PRICED_BY_COUNTRY, Rate, RateCardVersion
from .pricing import (
    clean_category,
    clean_channel,
    clean_country,
    has_version_in_force,
    no_version_error,
    pick_rate,
    version_in_force_subquery,
)

MAX_AUDIENCE = 10**12


@dataclass(frozen=True)
class EstimateLine:
    country: str | None
    quantity: int
    unit_price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Estimate:
    currency: str
    total: Decimal
    lines: list[EstimateLine]
    available: Decimal
    sufficient: bool
    shortfall: Decimal
    rate_card_version: RateCardVersion | None = field(default=None, compare=False)


def _quantity(value, field_name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > MAX_AUDIENCE:
        raise InvalidOperation(errors={field_name: ["Give a whole number of recipients, 0 or more."]})
    return value


def _audience(audience, audience_size) -> list[tuple[str | None, int]]:
    if (audience is None) == (audience_size is None):
        raise InvalidOperation(errors={"audience": ["Give either an audience by country or an audience_size."]})
    if audience_size is not None:
        return [(None, _quantity(audience_size, "audience_size"))]
    if not isinstance(audience, dict) or not audience:
        raise InvalidOperation(errors={"audience": ["Give the audience as {country: count}, e.g. {\"IN\": 12000}."]})
    merged: dict[str, int] = {}
    for country, count in audience.items():
        code = clean_country(country, field="audience")
        if not code:
            raise InvalidOperation(errors={"audience": ["Every audience entry needs a country code."]})
        merged[code] = merged.get(code, 0) + _quantity(count, "audience")
    return sorted(merged.items())


def estimate(*, account: Account, channel: str, category: str | None = None, audience: dict[str, int] | None = None,
             audience_size: int | None = None, at: datetime | None = None) -> Estimate:
    """Price an audience (by country, or a plain size at the default price) and compare it with available credits."""
    channel = clean_channel(channel)
    category = clean_category(channel, category)
    lines_in = _audience(audience, audience_size)
    at = at or timezone.now()
    organization = account.organization
    by_country = PRICED_BY_COUNTRY[channel]
    countries = {country for country, _ in lines_in if country and by_country}
    rates = {
        (rate.country, rate.category): rate
        for rate in Rate.objects.filter(version=version_in_force_subquery(organization.pk, at), channel=channel,
                                        country__in=countries | {""}, category__in={category, ""})
        .select_related("version")
    }
    lines, missing, version = [], [], None
    for country, quantity in lines_in:
        rate = pick_rate(rates, country if (country and by_country) else "", category)
        if rate is None:
            missing.append(country or "default")
            continue
        version = rate.version
        lines.append(EstimateLine(country=country, quantity=quantity, unit_price=rate.unit_price,
                                  amount=charge_amount(rate.unit_price, quantity)))
    if missing:
        if not rates and not has_version_in_force(organization, at):
            raise no_version_error(organization, at)
        kind = f" ({category})" if category else ""
        raise NoRate(f"The rate card has no {channel}{kind} price for {', '.join(missing)} and no default.",
                     errors={"audience": [f"No price for {', '.join(missing)}."]})
    available = account.funding_account().available(at)
    total = sum((line.amount for line in lines), ZERO)
    return Estimate(currency=organization.currency, total=total, lines=lines, available=available,
                    sufficient=total <= available, shortfall=max(ZERO, total - available), rate_card_version=version)
