"""The unit of work of a money operation: rows collected under the account locks, written in bulk, events after commit."""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from ..errors import LedgerError
from ..events import balances_changed, lock_waited, money_moved, money_refused
from ..models import Account, CreditLot, Posting, SystemAccount, Transaction
from ..money import Actor
from . import writer
from .idempotency import running_key

# (code, currency) -> system account id, filled only after the row is known committed. System accounts
# are never deleted (postings protect them); ledger/apps.py clears this when a test flushes the tables.
_system_account_ids: dict[tuple[str, str], int] = {}


def system_account(code: str, currency: str) -> SystemAccount:
    """The system account for a purpose and currency, created on first use (its id cached per process)."""
    cached = _system_account_ids.get((code, currency))
    if cached is not None:
        return SystemAccount(pk=cached, code=code, currency=currency)
    obj, _ = SystemAccount.objects.get_or_create(code=code, currency=currency)
    transaction.on_commit(partial(_system_account_ids.__setitem__, (code, currency), obj.pk))
    return obj


def forget_system_accounts(**kwargs) -> None:
    """Drop the cached system account ids (after a flush of the database)."""
    _system_account_ids.clear()


def stamp(requested_at: datetime | None) -> datetime:
    """The instant of an operation: the one given, else the clock read once the locks are held.

    Reading the clock after locking keeps `created_at` in the same order as `balance_after` on an
    account, so "balance as of an instant" is exact under concurrency.
    """
    return requested_at if requested_at is not None else timezone.now()


@dataclass(frozen=True)
class Movement:
    """What money_moved reports of one transaction (or of `count` transactions, summed)."""

    kind: str
    currency: str
    amount: Decimal
    channel: str = ""
    traffic: str = ""
    count: int = 1
    account_id: Any = None
    transaction_id: int | None = None
    organization_id: Any = None
    actor: Actor | None = None

    @classmethod
    def of(cls, txn: Transaction) -> "Movement":
        actor = Actor(user=txn.actor_user, service=txn.actor_service)  # the user instance the service was given: no query
        return cls(kind=txn.kind, currency=txn.currency, amount=txn.amount, channel=txn.channel,
                   traffic=txn.traffic, account_id=txn.account_id, transaction_id=txn.pk,
                   organization_id=txn.organization_id, actor=actor)


def publish_after_commit(operation: str, account_ids, transactions=(), movements=(),
                         idempotency_key: str | None = None) -> None:
    """After the commit: balances_changed for the funding accounts, money_moved for what moved (with the
    idempotency key of the operation: the one given, else the one run_idempotent is running)."""
    key = idempotency_key or running_key()
    transaction.on_commit(partial(_publish, operation, list(account_ids), list(transactions), list(movements), key))


def _publish(operation: str, account_ids: list, transactions: list, movements: list, key: str | None) -> None:
    if account_ids:
        balances_changed.send_robust(sender=Account, account_ids=account_ids)
    if (transactions or movements) and money_moved.has_listeners():
        money_moved.send_robust(sender=Transaction, operation=operation, idempotency_key=key,
                                movements=[*movements, *(Movement.of(txn) for txn in transactions)])


def publish_refusal(operation: str, account_id, error: LedgerError) -> None:
    """money_refused, at once (a refused operation wrote nothing, so there is no commit to wait for)."""
    if money_refused.has_listeners():
        money_refused.send_robust(sender=Transaction, operation=operation, account_id=account_id, error=error)


@dataclass(slots=True)
class PostingRow:
    """A posting to write (the writer reads the same attributes as of a Posting; no model instance is built)."""

    account_id: Any = None
    system_account_id: int | None = None
    amount: Decimal = Decimal(0)
    balance_after: Decimal | None = None
    created_at: datetime | None = None
    transaction_id: int | None = None
    id: None = None

    def as_model(self, txn: Transaction) -> Posting:
        return Posting(transaction=txn, account_id=self.account_id, system_account_id=self.system_account_id,
                       amount=self.amount, balance_after=self.balance_after, created_at=self.created_at)


def publish_lock_wait(operation: str, seconds: float | None) -> None:
    """lock_waited, at once: the seconds a charge spent acquiring its funding account's row lock."""
    if seconds is not None and lock_waited.has_listeners():
        lock_waited.send_robust(sender=Account, operation=operation, seconds=seconds)


@dataclass
class Entry:
    """A transaction being built on a locked account: rows are written in bulk at the end."""

    transaction: Transaction
    postings: list[Posting | PostingRow] = field(default_factory=list)


class Book:
    """Collects lot changes, transactions and postings under one lock and writes them in bulk."""

    def __init__(self, at: datetime, operation: str = ""):
        self.at = at
        self.operation = operation
        self.entries: list[Entry] = []
        self.changed_lots: dict[int, CreditLot] = {}
        self.new_lots: list[CreditLot] = []
        self._system: dict[tuple[str, str], SystemAccount] = {}

    def system(self, code: str, currency: str) -> SystemAccount:
        if (code, currency) not in self._system:
            self._system[code, currency] = system_account(code, currency)
        return self._system[code, currency]

    def add(self, *, account: Account, kind: str, amount: Decimal, system_code: str, actor: Actor,
            signed: Decimal | None = None, **fields) -> Entry:
        """Post `signed` (default -amount) on the customer account and the opposite on a system account."""
        signed = -amount if signed is None else signed
        account.balance += signed
        txn = Transaction(organization_id=account.organization_id, account=account, kind=kind,
                          currency=account.organization.currency, amount=amount, created_at=self.at,
                          **actor.actor_fields(), **fields)
        entry = Entry(txn, [
            PostingRow(account_id=account.pk, amount=signed, balance_after=account.balance, created_at=self.at),
            PostingRow(system_account_id=self.system(system_code, account.organization.currency).pk, amount=-signed,
                       created_at=self.at),
        ])
        self.entries.append(entry)
        return entry

    def lot_changed(self, lot: CreditLot) -> None:
        self.changed_lots[lot.pk] = lot

    def flush(self, *accounts: Account) -> None:
        """Write every collected row and the locked accounts' cached balances; publish the events after commit.

        On PostgreSQL, when no lot is created (charges, removals, expiry), everything goes in one
        statement after one id allocation; otherwise a handful of bulk statements.
        """
        if connection.vendor == "postgresql" and not self.new_lots:
            writer.write_in_one_statement(self, accounts)
        else:
            writer.write_in_bulk(self, accounts)
        publish_after_commit(self.operation, [account.pk for account in accounts],
                             [entry.transaction for entry in self.entries])


def save_account(account: Account, operation: str) -> None:
    """Write the cached balance and held of a locked account (no ledger rows); events after commit."""
    account.save(update_fields=["balance", "held"])
    publish_after_commit(operation, [account.pk])
