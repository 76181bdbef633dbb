"""Payments configuration read from settings: the seller on invoices, financial years, and which providers
serve which currency and country."""

import unicodedata
import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache

import pycountry
from django.conf import settings

from .models import Provider


def plain(text: str) -> str:
    """Text without diacritics (Karnātaka -> Karnataka): names as people type them and PDFs print them."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


@cache
def states(country: str = "IN") -> dict[str, str]:
    """ISO 3166-2 subdivision codes (without the country prefix) -> names, sorted by name."""
    rows = [(s.code.split("-", 1)[1], plain(s.name)) for s in pycountry.subdivisions.get(country_code=country) or []]
    return dict(sorted(rows, key=lambda row: row[1]))


@dataclass(frozen=True)
class Seller:
    """Who sells the credits, as printed on tax invoices."""

    code: str
    name: str
    address: str
    tax_id: str
    country: str
    state: str
    invoice_prefix: str
    financial_year_start_month: int
    timezone: str

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def financial_year(self, at: datetime) -> str:
        """The financial year of an instant in the seller's timezone: 2026-27 (April start) or 2026 (January)."""
        local = at.astimezone(self.tz).date()
        start_year = local.year if local.month >= self.financial_year_start_month else local.year - 1
        if self.financial_year_start_month == 1:
            return str(start_year)
        return f"{start_year}-{(start_year + 1) % 100:02d}"

    def local_date(self, at: datetime) -> date:
        return at.astimezone(self.tz).date()

    def as_dict(self) -> dict:
        return {"code": self.code, "name": self.name, "address": self.address, "tax_id": self.tax_id,
                "country": self.country, "state": self.state}


def seller() -> Seller:
    """The seller from settings (SELLER_* in the environment)."""
    data = settings.PAYMENTS_SELLER
    country = data["country"]
    start = data.get("financial_year_start_month") or (4 if country == "IN" else 1)
    return Seller(code=data["code"], name=data["name"], address=data["address"], tax_id=data["tax_id"],
                  country=country, state=data["state"], invoice_prefix=data["invoice_prefix"],
                  financial_year_start_month=int(start),
                  timezone=data.get("timezone") or ("Asia/Kolkata" if country == "IN" else "UTC"))


def parse_routes(text: str) -> dict[tuple[str, str], list[str]]:
    """`INR=razorpay,stripe;USD:IN=razorpay;*=stripe` -> {(currency, country): [provider, ...]}."""
    routes: dict[tuple[str, str], list[str]] = {}
    for entry in filter(None, (part.strip() for part in text.split(";"))):
        key, _, names = entry.partition("=")
        currency, _, country = key.strip().upper().partition(":")
        providers = [name.strip() for name in names.split(",") if name.strip()]
        unknown = set(providers) - set(Provider.values)
        if unknown:
            raise ValueError(f"PAYMENT_ROUTES names unknown providers: {', '.join(sorted(unknown))}")
        routes[currency, country] = providers
    return routes


def routed_providers(currency: str, country: str) -> list[str]:
    """Providers configured to serve a currency for buyers in a country, most specific route first."""
    routes = parse_routes(settings.PAYMENT_ROUTES)
    for key in ((currency, country), (currency, ""), ("*", country), ("*", "")):
        if key in routes:
            return routes[key]
    return []


def pending_ttl(provider: str) -> timedelta:
    """How long a top-up may wait for its payment before the expiry job closes it."""
    if provider == Provider.BANK_TRANSFER:
        return timedelta(days=settings.BANK_TRANSFER_PENDING_DAYS)
    return timedelta(hours=settings.TOP_UP_PENDING_HOURS)
