"""Rate card reads for the admin and the API: the version in force, pending versions, history with diffs."""

from datetime import datetime

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from ledger.models import Organization

from .models import Rate, RateCardVersion, VersionStatus, channel_list  # noqa: F401 - channel_list re-exported

RATE_ORDER = ("channel", "country", "category")


def _with_rates(queryset):
    return queryset.select_related("created_by").prefetch_related(
        Prefetch("rates", queryset=Rate.objects.order_by(*RATE_ORDER)))


def rate_card_current(organization: Organization, at: datetime | None = None) -> RateCardVersion | None:
    """The version in force at `at` (now by default), with its rates prefetched, or None."""
    at = at or timezone.now()
    return _with_rates(RateCardVersion.objects.filter(organization=organization).in_force(at)).first()


def versions_pending(organization_id, at: datetime) -> QuerySet[RateCardVersion]:
    """An org's versions that start after `at` (not cancelled), soonest first."""
    return (RateCardVersion.objects.filter(organization_id=organization_id, effective_from__gt=at)
            .exclude(status=VersionStatus.CANCELLED).order_by("effective_from", "number"))


def rate_card_pending(organization: Organization, at: datetime | None = None) -> list[RateCardVersion]:
    """Versions that start after `at` (not cancelled), soonest first, with their rates."""
    return list(_with_rates(versions_pending(organization.pk, at or timezone.now())))


def rate_key(rate: Rate) -> tuple[str, str, str]:
    return rate.channel, rate.country, rate.category


def rates_diff(before: list[Rate] | None, after: list[Rate]) -> list[dict]:
    """Rate-by-rate changes from `before` to `after`: added, removed and repriced rates (country/category None for default/any)."""
    old = {rate_key(rate): rate.unit_price for rate in before or []}
    new = {rate_key(rate): rate.unit_price for rate in after}
    changes = []
    for key in sorted(old.keys() | new.keys()):
        if old.get(key) != new.get(key):
            channel, country, category = key
            changes.append({"channel": channel, "country": country or None, "category": category or None,
                            "old_price": old.get(key), "new_price": new.get(key)})
    return changes


def rate_card_history(organization: Organization) -> list[dict]:
    """Every version, newest first: number, dates, status, who, and its changes against the version before it.

    "The version before it" is the latest non-cancelled version with a lower number (what it replaces).
    """
    versions = list(_with_rates(RateCardVersion.objects.filter(organization=organization).order_by("number")))
    history = []
    previous: list[Rate] | None = None
    for version in versions:
        rates = list(version.rates.all())
        history.append({
            "id": version.pk, "number": version.number, "effective_from": version.effective_from,
            "status": version.status, "created_by": version.created_by_label, "created_at": version.created_at,
            "note": version.note, "changes": rates_diff(previous, rates),
        })
        if version.status != VersionStatus.CANCELLED:
            previous = rates
    history.reverse()
    return history
