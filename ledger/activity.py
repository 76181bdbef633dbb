"""The activity timeline of an org: who did what, when, why, for how much, with a link to the record.

Events come from pluggable *sources*, merged newest first: money actions and service charges
(ledger transactions), credit-limit changes, org setting changes (simple-history rows), holds placed
by services; rate cards and alert settings register their own sources in their AppConfig.ready, and
so will later apps (top-ups, approvals): one `activity_sources.register(SomeSource())` each.

A page is a keyset page on (time, source name, row id) across every source: each source returns its
newest `limit` events older than the cursor, the merge keeps the newest `limit` of all of them, so
page 500 costs what page 1 costs and a CSV export walks the whole timeline in constant memory.
"""

import base64
import binascii
import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils.dateparse import parse_datetime

from .models import CreditLimitChange, Hold, Organization, Transaction, TransactionKind
from .money import money
from .templatetags.console import category_label, channel_label
from .times import local_time

PAGE_SIZE = 50
USAGE_KINDS = (TransactionKind.CHARGE, TransactionKind.HOLD_CAPTURE)


@dataclass(frozen=True)
class ActivityEvent:
    """One line of the timeline."""

    at: datetime
    source: str
    pk: object  # the row's id within its source (the cursor's tie-break)
    kind: str  # short label: "Grant", "Setting change", "Hold placed"
    summary: str  # what happened, in one line
    actor: str  # a username, a service (token) name, or "system"
    actor_type: str = "system"  # user, service or system
    reason: str = ""  # why: the comment, memo or change reason given
    amount: Decimal | None = None
    currency: str = ""
    account: str = ""
    url: str = ""  # the ledger entry or record behind the line

    @property
    def sort_key(self) -> tuple:
        return (self.at, self.source, self.pk)


@dataclass(frozen=True)
class Window:
    """What a page asks every source for: a time range, an actor search and the cursor to go past."""

    start: datetime | None = None
    end: datetime | None = None
    actor: str = ""
    before: tuple | None = None  # (at, source, pk) of the last event already shown


def actor_of(user, service: str) -> tuple[str, str]:
    """(label, type) of who acted: a user, else a service (token) name, else the system."""
    if user is not None:
        return str(user), "user"
    if service and service != "system":
        return service, "service"
    return "system", "system"


class ActivitySource:
    """Events of one kind of row. Subclasses give the queryset, the fields and how a row reads."""

    name = ""
    label = ""
    time_field = "created_at"
    id_field = "pk"
    actor_fields: tuple[str, ...] = ()  # fields the actor search looks in

    def queryset(self, organization: Organization) -> QuerySet:
        raise NotImplementedError

    def prepare(self, organization: Organization) -> dict:
        """What every event of one page needs to know once (names, settings)."""
        return {}

    def event(self, row, organization: Organization, context: dict) -> ActivityEvent:
        raise NotImplementedError

    def parse_pk(self, text: str):
        return self.queryset_model()._meta.get_field(self._pk_name()).to_python(text)

    def queryset_model(self):
        return self.queryset(Organization()).model

    def _pk_name(self) -> str:
        return self.queryset_model()._meta.pk.name if self.id_field == "pk" else self.id_field

    def older_than(self, before: tuple) -> Q:
        """Rows whose (time, source, id) sorts before the cursor."""
        at, source, pk = before
        field = self.time_field
        if self.name < source:
            return Q(**{f"{field}__lte": at})
        if self.name > source:
            return Q(**{f"{field}__lt": at})
        return Q(**{f"{field}__lt": at}) | Q(**{field: at, f"{self.id_field}__lt": pk})

    def events(self, organization: Organization, window: Window, limit: int) -> list[ActivityEvent]:
        """The newest `limit` events of this source inside the window, newest first."""
        queryset = self.queryset(organization)
        field = self.time_field
        if window.start is not None:
            queryset = queryset.filter(**{f"{field}__gte": window.start})
        if window.end is not None:
            queryset = queryset.filter(**{f"{field}__lt": window.end})
        if window.actor and self.actor_fields:
            condition = Q()
            for name in self.actor_fields:
                condition |= Q(**{f"{name}__icontains": window.actor})
            queryset = queryset.filter(condition)
        elif window.actor and not self.actor_fields:
            return []
        if window.before is not None:
            queryset = queryset.filter(self.older_than(window.before))
        rows = list(queryset.order_by(f"-{field}", f"-{self.id_field}")[:limit])
        context = self.prepare(organization) if rows else {}
        return [self.event(row, organization, context) for row in rows]


class HistorySource(ActivitySource):
    """Setting changes recorded by django-simple-history: each row with what changed from the row before it."""

    time_field = "history_date"
    id_field = "history_id"
    actor_fields = ("history_user__username", "history_actor_service")
    kind_label = "Setting change"
    model = None  # the model whose history this is
    organization_lookup = "organization_id"  # how its historical rows name their org
    related: tuple[str, ...] = ()

    def queryset(self, organization):
        return (self.model.history.filter(**{self.organization_lookup: organization.pk})
                .select_related("history_user", *self.related))

    def queryset_model(self):
        return self.model.history.model

    def describe(self, record, changes: list[str], organization: Organization) -> str:
        if record.history_type == "+":
            return "Created"
        if record.history_type == "-":
            return "Deleted"
        return "; ".join(changes) or "Saved without changes"

    def field_value(self, record, field: str, value, organization: Organization) -> str:
        model_field = record.instance_type._meta.get_field(field)
        if getattr(model_field, "choices", None):
            return str(dict(model_field.flatchoices).get(value, value))
        if isinstance(value, Decimal):
            return money(value, organization.currency)
        if isinstance(value, bool):
            return "on" if value else "off"
        return "—" if value in (None, "") else str(value)

    def changes(self, record, organization: Organization) -> list[str]:
        previous = record.prev_record
        if previous is None or record.history_type != "~":
            return []
        lines = []
        for change in record.diff_against(previous).changes:
            label = record.instance_type._meta.get_field(change.field).verbose_name
            lines.append(f"{label}: {self.field_value(record, change.field, change.old, organization)} → "
                         f"{self.field_value(record, change.field, change.new, organization)}")
        return lines

    def url(self, record, organization: Organization) -> str:
        return ""

    def subject(self, record, organization: Organization) -> str:
        return ""

    def event(self, record, organization: Organization, context: dict) -> ActivityEvent:
        actor, actor_type = actor_of(record.history_user, record.history_actor_service)
        summary = self.describe(record, self.changes(record, organization), organization)
        subject = self.subject(record, organization)
        return ActivityEvent(
            at=record.history_date, source=self.name, pk=record.history_id, kind=self.kind_label,
            summary=f"{subject}: {summary}" if subject else summary, actor=actor, actor_type=actor_type,
            reason=record.history_change_reason or "", url=self.url(record, organization),
            account=subject)


# --- the ledger's sources ----------------------------------------------------------------------------


def _transaction_url(txn_id) -> str:
    return reverse("admin:ledger_transaction_change", args=[txn_id])


class MoneySource(ActivitySource):
    """Grants, purchases, removals, transfers, expiries, invoices, payments, refunds and reversals."""

    name = "money"
    label = "Money actions"
    actor_fields = ("actor_user__username", "actor_service")

    def queryset(self, organization):
        return (Transaction.objects.filter(organization=organization).exclude(kind__in=USAGE_KINDS)
                .select_related("account", "actor_user", "lot"))

    def summary(self, txn: Transaction, organization: Organization, context: dict) -> str:
        amount = money(txn.amount, txn.currency)
        account = txn.account.name
        if txn.kind in (TransactionKind.GRANT, TransactionKind.PURCHASE, TransactionKind.REFUND):
            text = f"{amount} to {account}"
            if txn.lot_id:
                expiry = local_time(txn.lot.expires_at, organization) if txn.lot.expires_at else "never"
                text += f", expires {expiry}"
                if txn.lot.purchase_order:
                    text += f", PO {txn.lot.purchase_order}"
            return text
        if txn.kind == TransactionKind.REMOVAL:
            return f"{amount} from {account}"
        if txn.kind == TransactionKind.TRANSFER:
            target = context["accounts"].get(txn.metadata.get("to_account", ""), "another account")
            return f"{amount} from {account} to {target}"
        if txn.kind == TransactionKind.EXPIRY:
            granted = f" granted {local_time(txn.lot.granted_at, organization)}" if txn.lot_id else ""
            return f"{amount} expired on {account} (lot{granted})"
        if txn.kind == TransactionKind.INVOICE:
            return f"{amount} of {txn.period or 'the month'}'s usage invoiced on {account}"
        return f"{amount} on {account}"

    def prepare(self, organization):
        return {"accounts": {str(pk): name for pk, name in organization.accounts.values_list("pk", "name")}}

    def event(self, txn: Transaction, organization: Organization, context: dict) -> ActivityEvent:
        actor, actor_type = actor_of(txn.actor_user, txn.actor_service)
        return ActivityEvent(
            at=txn.created_at, source=self.name, pk=txn.pk, kind=txn.get_kind_display(),
            summary=self.summary(txn, organization, context), actor=actor, actor_type=actor_type,
            reason=txn.memo, amount=txn.amount, currency=txn.currency, account=txn.account.name,
            url=_transaction_url(txn.pk))


class UsageSource(ActivitySource):
    """Charges and hold captures: what services did with their tokens."""

    name = "usage"
    label = "Charges by services"
    actor_fields = ("actor_user__username", "actor_service")

    def queryset(self, organization):
        return (Transaction.objects.filter(organization=organization, kind__in=USAGE_KINDS)
                .select_related("account", "subaccount", "actor_user"))

    def event(self, txn: Transaction, organization: Organization, context: dict) -> ActivityEvent:
        actor, actor_type = actor_of(txn.actor_user, txn.actor_service)
        what = " ".join(part for part in (channel_label(txn.channel), txn.country, category_label(txn.category))
                        if part) or "usage"
        quantity = f" × {txn.quantity:,}" if txn.quantity else ""
        on = txn.subaccount.name if txn.subaccount_id else txn.account.name
        return ActivityEvent(
            at=txn.created_at, source=self.name, pk=txn.pk, kind=txn.get_kind_display(),
            summary=f"{money(txn.amount, txn.currency)} for {what}{quantity} on {on}", actor=actor,
            actor_type=actor_type, reason=txn.reference or txn.memo, amount=txn.amount, currency=txn.currency,
            account=on, url=_transaction_url(txn.pk))


class CreditLimitSource(ActivitySource):
    """Credit limits set by staff and temporary limits that ran out."""

    name = "credit_limit"
    label = "Credit limits"
    actor_fields = ("actor_user__username", "actor_service")

    def queryset(self, organization):
        return CreditLimitChange.objects.filter(account__organization=organization).select_related(
            "account", "actor_user")

    def event(self, change: CreditLimitChange, organization: Organization, context: dict) -> ActivityEvent:
        actor, actor_type = actor_of(change.actor_user, change.actor_service)
        cur = organization.currency
        scope = (f", temporary for {change.temporary_days} days until {local_time(change.expires_at, organization)}"
                 if change.temporary_days else "")
        return ActivityEvent(
            at=change.created_at, source=self.name, pk=change.pk, kind="Credit limit",
            summary=f"{change.account.name}: {money(change.previous_limit, cur)} → {money(change.amount, cur)}{scope}",
            actor=actor, actor_type=actor_type, reason=change.comment, amount=change.amount, currency=cur,
            account=change.account.name, url=reverse("admin:ledger_creditlimitchange_change", args=[change.pk]))


class OrganizationSettingsSource(HistorySource):
    """Name, timezone, payment scheme and credit management (the org's history rows)."""

    name = "settings"
    label = "Org settings"
    model = Organization
    organization_lookup = "id"

    def describe(self, record, changes, organization):
        if record.history_type == "+":
            return (f"Organization created: {record.currency}, {record.get_payment_scheme_display().lower()}, "
                    f"{record.timezone}")
        return super().describe(record, changes, organization)

    def url(self, record, organization):
        return reverse("admin:ledger_organization_simple_history", args=[organization.pk, record.history_id])


class HoldSource(ActivitySource):
    """Credits reserved by services for scheduled campaigns (each hold at the time it was placed)."""

    name = "holds"
    label = "Holds by services"
    actor_fields = ("created_by__username", "created_by_service")

    def queryset(self, organization):
        return Hold.objects.filter(account__organization=organization).select_related(
            "account", "subaccount", "created_by")

    def event(self, hold: Hold, organization: Organization, context: dict) -> ActivityEvent:
        actor, actor_type = actor_of(hold.created_by, hold.created_by_service)
        cur = organization.currency
        on = hold.subaccount.name if hold.subaccount_id else hold.account.name
        return ActivityEvent(
            at=hold.created_at, source=self.name, pk=hold.pk, kind="Hold placed",
            summary=f"{money(hold.amount, cur)} reserved on {on} until {local_time(hold.expires_at, organization)}; "
                    f"now {hold.get_status_display().lower()}, {money(hold.remaining, cur)} left",
            actor=actor, actor_type=actor_type, reason=hold.reference, amount=hold.amount, currency=cur,
            account=on, url=reverse("admin:ledger_hold_change", args=[hold.pk]))


# --- the registry and the merge ------------------------------------------------------------------------


class ActivitySources:
    """The registered sources, in the order the filter lists them."""

    def __init__(self):
        self._sources: dict[str, ActivitySource] = {}

    def register(self, source: ActivitySource) -> ActivitySource:
        """Add (or replace) a source; apps call this in AppConfig.ready."""
        self._sources[source.name] = source
        return source

    def all(self) -> list[ActivitySource]:
        return list(self._sources.values())

    def get(self, name: str) -> ActivitySource | None:
        return self._sources.get(name)

    def choices(self) -> list[tuple[str, str]]:
        return [(source.name, source.label) for source in self._sources.values()]


activity_sources = ActivitySources()
for _source in (MoneySource(), CreditLimitSource(), OrganizationSettingsSource(), UsageSource(), HoldSource()):
    activity_sources.register(_source)


def encode_cursor(event: ActivityEvent) -> str:
    raw = f"{event.at.isoformat()}|{event.source}|{event.pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple | None:
    """(at, source, pk) from a cursor, or None when it is not one of ours."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment_text, source_name, pk_text = raw.split("|", 2)
        moment = parse_datetime(moment_text)
        source = activity_sources.get(source_name)
        pk = source.parse_pk(pk_text) if source is not None else None
    except (ValueError, binascii.Error, UnicodeDecodeError, ValidationError):  # a crafted cursor is just invalid
        return None
    if moment is None or moment.tzinfo is None or pk is None:
        return None
    return moment, source_name, pk


@dataclass
class ActivityPage:
    events: list[ActivityEvent]
    next_cursor: str | None


def activity_page(organization: Organization, *, sources: list[str] | None = None, window: Window = Window(),
                  limit: int = PAGE_SIZE) -> ActivityPage:
    """One page of the org's timeline, newest first, from the chosen sources (all by default)."""
    chosen = [source for source in activity_sources.all() if sources is None or source.name in sources]
    batches = [source.events(organization, window, limit + 1) for source in chosen]
    merged = list(heapq.merge(*batches, key=lambda event: event.sort_key, reverse=True))
    page = merged[:limit]
    return ActivityPage(page, encode_cursor(page[-1]) if len(merged) > limit else None)


def activity_iter(organization: Organization, *, sources: list[str] | None = None, window: Window = Window(),
                  chunk: int = 500) -> Iterator[ActivityEvent]:
    """Every event of the window, newest first, fetched a keyset page at a time (for CSV exports)."""
    before = window.before
    while True:
        page = activity_page(organization, sources=sources, limit=chunk,
                             window=Window(window.start, window.end, window.actor, before))
        yield from page.events
        if page.next_cursor is None:
            return
        before = page.events[-1].sort_key
