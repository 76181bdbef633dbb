"""Rate card writes: create a version (with activation rules), cancel a pending one, activate due ones.

Every edit is a new version. An org's first version (or any version while none is in force) starts at
once; later ones start at the next local midnight of the org's timezone, or at a later `effective_from`.
At most one version is pending: a new one cancels the pending one that has not started yet.
"""

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from simple_history.utils import bulk_create_with_history

from ledger.errors import InvalidOperation, LedgerError
from ledger.history import history_actor
from ledger.locks import lock_objects, lock_organization
from ledger.models import ZERO, Organization
from ledger.money import SYSTEM, Actor, to_amount
from ledger.times import local_time

from .models import Channel, Rate, RateCardVersion, VersionStatus
from .pricing import clean_category, clean_channel, clean_country, has_version_in_force

MAX_RATES = 5000


def next_local_midnight(organization: Organization, at: datetime) -> datetime:
    """The start of the day after `at` in the org's timezone, as an aware UTC datetime."""
    return local_midnight(organization, at.astimezone(organization.tz).date() + timedelta(days=1))


def local_midnight(organization: Organization, day: date) -> datetime:
    """The start of `day` in the org's timezone (DST-correct), in UTC."""
    return datetime.combine(day, time(0), tzinfo=organization.tz).astimezone(timezone.UTC)


def _aware(organization: Organization, value) -> datetime:
    if isinstance(value, str):
        parsed = parse_datetime(value) or parse_date(value)
        if parsed is None:
            raise InvalidOperation(errors={"effective_from": ["Enter a valid date or ISO 8601 date-time."]})
        value = parsed
    if isinstance(value, datetime):
        return value if timezone.is_aware(value) else value.replace(tzinfo=organization.tz).astimezone(timezone.UTC)
    if isinstance(value, date):
        return local_midnight(organization, value)
    raise InvalidOperation(errors={"effective_from": ["Enter a valid date or ISO 8601 date-time."]})


def rates_clean(rates) -> list[dict]:
    """Validate rate rows; return them normalized or raise InvalidOperation with per-row field errors.

    Error keys are `rates[i].field` (i counts from 0 in the given list) or `rates` for the list itself.
    """
    if not isinstance(rates, list | tuple) or not rates:
        raise InvalidOperation(errors={"rates": ["Give at least one rate."]})
    if len(rates) > MAX_RATES:
        raise InvalidOperation(errors={"rates": [f"At most {MAX_RATES} rates per rate card."]})
    errors: dict[str, list[str]] = {}
    cleaned: list[dict] = []
    seen: dict[tuple, int] = {}
    for index, item in enumerate(rates):
        prefix = f"rates[{index}]"
        if not isinstance(item, dict):
            errors[prefix] = ["Each rate is an object with channel, country, category and unit_price."]
            continue
        row: dict = {}
        for name, clean in (("channel", clean_channel), ("unit_price", _clean_price)):
            try:
                row[name] = clean(item.get(name))
            except LedgerError as error:
                errors[f"{prefix}.{name}"] = _messages(error)
        channel = row.get("channel")
        try:
            row["country"] = clean_country(item.get("country"))
            if channel == Channel.EMAIL and row["country"]:
                raise InvalidOperation(errors={"country": ["Email has one price for all countries: leave the "
                                                           "country empty."]})
        except LedgerError as error:
            errors[f"{prefix}.country"] = _messages(error)
        if channel:
            try:
                row["category"] = clean_category(channel, item.get("category"))
            except LedgerError as error:
                errors[f"{prefix}.category"] = _messages(error)
        if len(row) == 4:
            key = (row["channel"], row["country"], row["category"])
            if key in seen:
                errors.setdefault(f"{prefix}.country", []).append(
                    f"Duplicate of rate {seen[key] + 1}: {key[0]}, {key[1] or 'default'}, {key[2] or 'any'}.")
            else:
                seen[key] = index
                cleaned.append(row)
    if errors:
        raise InvalidOperation("Some rates are not valid.", errors=errors)
    return cleaned


def _clean_price(value) -> Decimal:
    if value is None or value == "":
        raise InvalidOperation(errors={"unit_price": ["Enter a price."]})
    price = to_amount(value, field="unit_price", positive=False)
    if price < ZERO:
        raise InvalidOperation(errors={"unit_price": ["A price cannot be negative."]})
    return price


def _messages(error: LedgerError) -> list[str]:
    return [message for messages in error.errors.values() for message in messages] or [error.detail]


def _lock_organization(organization: Organization) -> Organization:
    # FOR NO KEY UPDATE: serializes rate card edits of one org without blocking charges (their inserts
    # take FOR KEY SHARE on the org row).
    return lock_organization(organization.pk, no_key=True)


def _save_status(version: RateCardVersion, status: str, actor: Actor | None, reason: str) -> None:
    version.status = status
    history_actor(version, actor or SYSTEM, reason)
    version.save(update_fields=["status"])


def rate_card_version_create(*, actor: Actor, organization: Organization, rates: list[dict],
                             effective_from: datetime | date | str | None = None, note: str = "",
                             at: datetime | None = None) -> RateCardVersion:
    """Create a new rate card version (a full set of rates) with the activation rules of the domain."""
    cleaned = rates_clean(rates)
    at = at or timezone.now()
    requested = _aware(organization, effective_from) if effective_from not in (None, "") else None
    with transaction.atomic(durable=True):
        organization = _lock_organization(organization)
        _activate_org(organization, at, actor=actor)
        versions = lock_objects(RateCardVersion.objects.filter(organization=organization))
        if has_version_in_force(organization, at):
            earliest = next_local_midnight(organization, at)
            if requested is not None and requested < earliest:
                raise InvalidOperation(errors={"effective_from": [
                    f"A change takes effect from the next day at the earliest: {local_time(earliest, organization)}."]})
            starts = requested or earliest
        else:
            starts = max(requested, at) if requested is not None else at
        for other in versions:
            if other.status == VersionStatus.PENDING and other.effective_from > at:
                _save_status(other, VersionStatus.CANCELLED, actor, "Replaced by a newer edit")
        number = (max((v.number for v in versions), default=0)) + 1
        version = RateCardVersion(
            organization=organization, number=number, effective_from=starts,
            status=VersionStatus.CURRENT if starts <= at else VersionStatus.PENDING, created_at=at,
            created_by=actor.user, created_by_service="" if actor.user else (actor.service or "system"),
            note=note or "",
        )
        history_actor(version, actor, "Created")
        version.save()
        if version.status == VersionStatus.CURRENT:
            for other in versions:
                if other.status == VersionStatus.CURRENT:
                    _save_status(other, VersionStatus.SUPERSEDED, actor, f"Superseded by v{number}")
        bulk_create_with_history(
            [Rate(version=version, **row) for row in cleaned], Rate, batch_size=500,
            default_user=actor.user, default_change_reason=f"Rate card v{number}",
            custom_historical_attrs={"history_actor_service": "" if actor.user else actor.label},
        )
    return version


def rate_card_version_cancel(*, actor: Actor, version: RateCardVersion, at: datetime | None = None) -> RateCardVersion:
    """Cancel a pending version that has not started yet."""
    at = at or timezone.now()
    with transaction.atomic(durable=True):
        _lock_organization(version.organization)
        version = lock_objects(RateCardVersion.objects.filter(pk=version.pk))[0]
        if version.status != VersionStatus.PENDING or version.effective_from <= at:
            raise InvalidOperation(f"Rate card v{version.number} has already started or is not pending; "
                                   "only a pending version can be cancelled.",
                                   errors={"version": ["Only a pending version that has not started can be cancelled."]})
        _save_status(version, VersionStatus.CANCELLED, actor, "Cancelled")
    return version


def _activate_org(organization: Organization, at: datetime, actor: Actor | None = None) -> list[RateCardVersion]:
    """Mark the version in force at `at` current and earlier ones superseded (org already locked)."""
    started = lock_objects(RateCardVersion.objects.filter(organization=organization, effective_from__lte=at,
                                                          status__in=[VersionStatus.PENDING, VersionStatus.CURRENT]))
    started.sort(key=lambda version: (version.effective_from, version.number), reverse=True)
    if not started:
        return []
    in_force, older = started[0], started[1:]
    activated = []
    if in_force.status != VersionStatus.CURRENT:
        _save_status(in_force, VersionStatus.CURRENT, actor, "In force")
        activated.append(in_force)
    for version in older:
        _save_status(version, VersionStatus.SUPERSEDED, actor, f"Superseded by v{in_force.number}")
    return activated


def rate_card_versions_activate(*, at: datetime | None = None,
                                organizations: Iterable[Organization] | None = None) -> list[RateCardVersion]:
    """Mark due pending versions current and the ones they replace superseded; running it twice changes nothing."""
    at = at or timezone.now()
    due = RateCardVersion.objects.filter(status=VersionStatus.PENDING, effective_from__lte=at)
    if organizations is not None:
        due = due.filter(organization__in=list(organizations))
    activated: list[RateCardVersion] = []
    for organization_id in sorted(set(due.values_list("organization_id", flat=True)), key=str):
        with transaction.atomic(durable=True):
            organization = lock_organization(organization_id, no_key=True)
            activated += _activate_org(organization, at)
    return activated
