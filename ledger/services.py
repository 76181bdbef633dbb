"""The only code that moves money.

Every function here runs in one atomic block, locks the accounts it touches (in primary-key
order, so opposite transfers cannot deadlock), honours an optional idempotency key per caller,
and writes balanced transactions whose customer postings carry `balance_after`. The admin, the
API, the tasks and the management commands call these functions; nothing else writes lots,
transactions, postings, holds or cached balances.
"""

import copy
import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from decimal import InvalidOperation as DecimalInvalidOperation
from functools import partial
from typing import Any

from dateutil.relativedelta import relativedelta
from django.contrib.auth.models import AbstractBaseUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, IntegrityError, connection, models, transaction
from django.db.models import F
from django.utils import timezone

from .errors import (
    CreditManagementDisabled,
    HoldNotActive,
    IdempotencyConflict,
    InsufficientCredits,
    InvalidOperation,
    LedgerError,
    TransferNotAllowed,
)
from .events import balances_changed
from .history import history_actor
from .models import (
    QUANTUM,
    ZERO,
    Account,
    BalanceMode,
    CreditLimitChange,
    CreditLot,
    ExpiresIn,
    Hold,
    HoldStatus,
    IdempotencyRecord,
    LotSource,
    Organization,
    PaymentScheme,
    Posting,
    SystemAccount,
    Traffic,
    Transaction,
    TransactionKind,
)

EXPIRY_MONTHS = {"1M": 1, "2M": 2, "3M": 3, "6M": 6, "1Y": 12}
DEFAULT_EXPIRES_IN = ExpiresIn.SIX_MONTHS


# --- actors ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    """Who does an operation: a user (staff, org admin) or a service (token name)."""

    user: AbstractBaseUser | None = None
    service: str = ""
    token_id: int | None = None

    @property
    def caller(self) -> str:
        """The scope of idempotency keys: one namespace per token, user or named service."""
        if self.token_id is not None:
            return f"token:{self.token_id}"
        if self.user is not None:
            return f"user:{self.user.pk}"
        return f"service:{self.service or 'system'}"

    @property
    def user_id(self):
        return self.user.pk if self.user is not None else None

    @property
    def label(self) -> str:
        return str(self.user) if self.user is not None else (self.service or "system")


SYSTEM = Actor(service="system")


# --- small helpers ----------------------------------------------------------------------------


def to_amount(value: Any, *, field: str = "amount", positive: bool = True, allow_zero: bool = False) -> Decimal:
    """Parse an amount as a Decimal with at most 6 decimal places; floats are refused."""
    if isinstance(value, float | bool):
        raise InvalidOperation(errors={field: ["Amounts must be decimal strings, not floating-point numbers."]})
    try:
        amount = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except (DecimalInvalidOperation, ValueError):
        raise InvalidOperation(errors={field: ["Enter a valid decimal amount."]})
    if not amount.is_finite():
        raise InvalidOperation(errors={field: ["Enter a valid decimal amount."]})
    if amount.copy_abs() >= Decimal(10) ** 14:
        raise InvalidOperation(errors={field: ["The amount is too large."]})
    if amount != amount.quantize(QUANTUM, rounding=ROUND_HALF_UP):
        raise InvalidOperation(errors={field: ["At most 6 decimal places are allowed."]})
    if positive and (amount < 0 or (amount == 0 and not allow_zero)):
        raise InvalidOperation(errors={field: ["The amount must be greater than zero." if not allow_zero
                                               else "The amount must not be negative."]})
    return amount.quantize(QUANTUM)


def charge_amount(unit_price: Decimal, quantity: int) -> Decimal:
    """unit price x quantity, rounded half-up to 6 places."""
    return (Decimal(unit_price) * quantity).quantize(QUANTUM, rounding=ROUND_HALF_UP)


def lot_expires_at(granted_at: datetime, expires_in: str, tz) -> datetime | None:
    """The expiry of a lot granted at `granted_at`: months counted in the org's timezone, month-end clamped."""
    if expires_in == ExpiresIn.NEVER:
        return None
    if expires_in not in EXPIRY_MONTHS:
        raise InvalidOperation(errors={"expires_in": [f"Choose one of {', '.join(ExpiresIn.values)}."]})
    local = granted_at.astimezone(tz)
    return (local + relativedelta(months=EXPIRY_MONTHS[expires_in])).astimezone(timezone.UTC)


def lock_accounts(ids: Iterable) -> dict:
    """Lock accounts in primary-key order (deadlock-free) and return them by id."""
    accounts = (
        Account.objects.filter(pk__in=set(ids)).order_by("pk").select_related("organization")
        .select_for_update(of=("self",))
    )
    return {account.pk: account for account in accounts}


def lock_account(account_id) -> Account:
    locked = lock_accounts([account_id])
    if not locked:
        raise Account.DoesNotExist(f"Account {account_id} does not exist.")
    return locked[account_id]


def funding_account_id(account: Account):
    """The account whose funds a charge or hold uses: the master for a shared subaccount."""
    if account.balance_mode == BalanceMode.SHARED:
        return Account.objects.filter(organization_id=account.organization_id, is_master=True).values_list(
            "pk", flat=True).get()
    return account.pk


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


def _require_credit_management(organization: Organization) -> None:
    if not organization.credit_management_enabled:
        raise CreditManagementDisabled()


def _require_funds_holder(account: Account, field_name: str = "account") -> None:
    if account.balance_mode != BalanceMode.OWN:
        raise InvalidOperation(
            f"{account.name} is a shared-balance subaccount and holds no funds; use the master account.",
            errors={field_name: ["Shared-balance subaccounts hold no funds."]},
        )


def _actor_fields(actor: Actor) -> dict:
    return {"actor_user": actor.user, "actor_service": "" if actor.user is not None else actor.label}


# --- idempotency ------------------------------------------------------------------------------


def _normalize(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value.quantize(QUANTUM)) if value.is_finite() else str(value)
    if isinstance(value, models.Model):
        return str(value.pk)
    if isinstance(value, dict):
        return {str(k): _normalize(v) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [_normalize(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value if value is None or isinstance(value, bool | int | str) else str(value)


def request_fingerprint(operation: str, params: dict) -> str:
    """A stable hash of an operation and its normalized parameters."""
    payload = json.dumps({"operation": operation, "params": _normalize(params)}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def _load_result(record: IdempotencyRecord):
    if record.result_model == "batch":
        return BatchResult.from_record(record.result_data)
    model = {"transaction": Transaction, "hold": Hold, "organization": Organization, "account": Account}[
        record.result_model]
    return model.objects.get(pk=record.result_id)


def run_idempotent(*, actor: Actor, key: str | None, operation: str, params: dict, work: Callable[[], Any],
                   fingerprint: str | None = None):
    """Run `work` in one durable atomic block, at most once per (caller, key).

    A retry with the same request returns the first result; the same key with a different
    request raises IdempotencyConflict. The key row is inserted first, so a concurrent
    duplicate waits on it and then replays instead of acting twice.
    """
    if not key:
        with transaction.atomic(durable=True):
            return work()
    _check_key(key)
    fingerprint = fingerprint or request_fingerprint(operation, params)
    with transaction.atomic(durable=True):
        record_id = _claim_key(actor.caller, key, operation, fingerprint)
        if record_id is None:
            return _replay(IdempotencyRecord.objects.get(caller=actor.caller, key=key), operation, fingerprint)
        result = work()
        if isinstance(result, BatchResult):
            outcome = {"result_model": "batch", "result_data": result.to_record()}
        else:
            outcome = {"result_model": result._meta.model_name, "result_id": str(result.pk)}
        IdempotencyRecord.objects.filter(pk=record_id).update(**outcome)
        return result


def _check_key(key: str) -> None:
    if not (1 <= len(key) <= 255) or not key.isascii() or not key.isprintable():
        raise InvalidOperation(errors={"idempotency_key": ["Use 1-255 printable ASCII characters."]})


def _claim_key(caller: str, key: str, operation: str, fingerprint: str) -> int | None:
    """Insert the key row, or return None when it exists (after waiting for a concurrent first use to end).

    One statement: INSERT ... ON CONFLICT DO NOTHING waits on a conflicting uncommitted insert, then
    either inserts (the other rolled back) or does nothing (it committed: the caller replays it).
    """
    table = IdempotencyRecord._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (caller, key, operation, fingerprint, result_model, result_id, created_at) "  # noqa: S608
            "VALUES (%s, %s, %s, %s, '', '', %s) ON CONFLICT (caller, key) DO NOTHING RETURNING id",
            [caller, key, operation, fingerprint, timezone.now()],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def _replay(record: IdempotencyRecord, operation: str, fingerprint: str):
    """The first result of a key used again: refused when the key was first used for another request."""
    if record.operation != operation or record.fingerprint != fingerprint:
        raise IdempotencyConflict()
    result = _load_result(record)
    result.replayed = True
    return result


# --- organizations and accounts ---------------------------------------------------------------


def organization_create(*, actor: Actor, name: str, currency: str, timezone_name: str = "UTC",
                        payment_scheme: str = PaymentScheme.PREPAID, credit_management_enabled: bool = True,
                        credit_limit: Decimal | str = ZERO, idempotency_key: str | None = None) -> Organization:
    """Create an org with its master account (and its credit limit; postpaid requires one)."""
    credit_limit = to_amount(credit_limit, field="credit_limit", allow_zero=True)
    if payment_scheme not in PaymentScheme.values:
        raise InvalidOperation(errors={"payment_scheme": ["Choose prepaid or postpaid."]})
    if payment_scheme == PaymentScheme.POSTPAID and credit_limit <= 0:
        raise InvalidOperation("A postpaid organization needs a credit limit.",
                               errors={"credit_limit": ["A postpaid organization needs a credit limit above zero."]})
    organization = Organization(name=name, currency=currency, timezone=timezone_name, payment_scheme=payment_scheme,
                                credit_management_enabled=credit_management_enabled)
    try:
        organization.full_clean(exclude=["wallet_id"])
    except Exception as exc:  # django ValidationError
        raise InvalidOperation(errors=getattr(exc, "message_dict", {"__all__": [str(exc)]}))

    def work():
        history_actor(organization, actor, "Created")
        organization.save()
        master = Account.objects.create(organization=organization, name="Master account", is_master=True,
                                        credit_limit=credit_limit)
        if credit_limit > 0:
            CreditLimitChange.objects.create(account=master, amount=credit_limit, previous_limit=ZERO,
                                             comment="Initial credit limit", **_actor_fields(actor))
        return organization

    return run_idempotent(actor=actor, key=idempotency_key, operation="organization_create",
                          params={"name": name, "currency": currency, "timezone": timezone_name,
                                  "payment_scheme": payment_scheme, "credit_limit": credit_limit,
                                  "credit_management_enabled": credit_management_enabled}, work=work)


def organization_update(*, actor: Actor, organization: Organization, reason: str = "", dry_run: bool = False,
                        **changes) -> Organization:
    """Change name, timezone, payment scheme, purchase settings or the credit-management switch (history
    records who and why).

    Refused where the change would break an invariant: a postpaid org needs a credit limit, and an org
    leaves postpaid only when none of its accounts owes usage (invoice or repay it first). `dry_run`
    checks everything under the same locks and changes nothing (the console's confirmation step).
    """
    allowed = {"name", "timezone", "credit_management_enabled", "payment_scheme",
               "purchase_expires_in", "individual_user_credits"}  # the last two: payments (buying credits)
    unknown = set(changes) - allowed
    if unknown:
        raise InvalidOperation(errors={name: ["This field cannot be changed."] for name in unknown})
    with transaction.atomic(durable=True):
        master = lock_account(organization.master_account.pk)
        org = Organization.objects.select_for_update().get(pk=organization.pk)
        leaving_postpaid = (org.payment_scheme == PaymentScheme.POSTPAID
                            and changes.get("payment_scheme", org.payment_scheme) != PaymentScheme.POSTPAID)
        for name, value in changes.items():
            setattr(org, name, value)
        if org.payment_scheme == PaymentScheme.POSTPAID and master.credit_limit <= 0:
            raise InvalidOperation("A postpaid organization needs a credit limit.",
                                   errors={"payment_scheme": ["Set a credit limit before switching to postpaid."]})
        if leaving_postpaid:
            _refuse_leaving_postpaid_with_debt(org)
        try:
            org.full_clean(exclude=["wallet_id", "admins", "currency"])  # the currency never changes
        except Exception as exc:
            raise InvalidOperation(errors=getattr(exc, "message_dict", {"__all__": [str(exc)]}))
        if dry_run:
            return org
        history_actor(org, actor, reason)
        org.save(update_fields=list(changes))
        return org


def _refuse_leaving_postpaid_with_debt(org: Organization) -> None:
    """Usage taken on credit is billed by the postpaid month close: a prepaid org would never invoice it."""
    owing = list(Account.objects.filter(organization=org, balance_mode=BalanceMode.OWN, balance__lt=0)
                 .order_by("-is_master", "name").values_list("name", flat=True))
    if owing:
        raise InvalidOperation(
            f"{', '.join(owing)} owe{'s' if len(owing) == 1 else ''} usage taken on credit: a prepaid organization "
            "would never invoice it. Let the month close invoice it, or add credits to repay it, then switch.",
            errors={"payment_scheme": [
                f"Refused: {', '.join(owing)} {'has' if len(owing) == 1 else 'have'} a negative balance. "
                "Invoice or repay it before switching to prepaid."]})


def account_create(*, actor: Actor, organization: Organization, name: str, balance_mode: str = BalanceMode.OWN,
                   owner=None, idempotency_key: str | None = None) -> Account:
    """Create a subaccount in `own` or `shared` balance mode, optionally owned by one user."""
    if balance_mode not in BalanceMode.values:
        raise InvalidOperation(errors={"balance_mode": ["Choose own or shared."]})
    if not name or not name.strip():
        raise InvalidOperation(errors={"name": ["This field may not be blank."]})

    def work():
        return Account.objects.create(organization=organization, name=name.strip(), balance_mode=balance_mode,
                                      owner=owner)

    return run_idempotent(actor=actor, key=idempotency_key, operation="account_create",
                          params={"organization": organization, "name": name, "balance_mode": balance_mode,
                                  "owner": owner.pk if owner else None}, work=work)


# --- posting machinery -------------------------------------------------------------------------


@dataclass
class _Entry:
    """A transaction being built on a locked account: rows are written in bulk at the end."""

    transaction: Transaction
    postings: list[Posting] = field(default_factory=list)


class _Book:
    """Collects lot changes, transactions and postings under one lock and writes them in bulk."""

    def __init__(self, at: datetime):
        self.at = at
        self.entries: list[_Entry] = []
        self.changed_lots: dict[int, CreditLot] = {}
        self.new_lots: list[CreditLot] = []
        self._system: dict[tuple[str, str], SystemAccount] = {}

    def system(self, code: str, currency: str) -> SystemAccount:
        if (code, currency) not in self._system:
            self._system[code, currency] = system_account(code, currency)
        return self._system[code, currency]

    def add(self, *, account: Account, kind: str, amount: Decimal, system_code: str, actor: Actor,
            signed: Decimal | None = None, **fields) -> _Entry:
        """Post `signed` (default -amount) on the customer account and the opposite on a system account."""
        signed = -amount if signed is None else signed
        account.balance += signed
        txn = Transaction(organization_id=account.organization_id, account=account, kind=kind,
                          currency=account.organization.currency, amount=amount, created_at=self.at,
                          **_actor_fields(actor), **fields)
        entry = _Entry(txn, [
            Posting(account=account, amount=signed, balance_after=account.balance, created_at=self.at),
            Posting(system_account=self.system(system_code, account.organization.currency), amount=-signed,
                    created_at=self.at),
        ])
        self.entries.append(entry)
        return entry

    def lot_changed(self, lot: CreditLot) -> None:
        self.changed_lots[lot.pk] = lot

    def flush(self, *accounts: Account) -> None:
        """Write every collected row and the locked accounts' cached balances.

        On PostgreSQL, when no lot is created (charges, removals, expiry), everything goes in one
        statement after one id allocation; otherwise a handful of bulk statements.
        """
        if connection.vendor == "postgresql" and not self.new_lots:
            self._write_in_one_statement(accounts)
        else:
            self._write_in_bulk(accounts)
        for account in accounts:
            transaction.on_commit(partial(_balances_changed, account.pk))

    def _write_in_bulk(self, accounts) -> None:
        if self.new_lots:
            CreditLot.objects.bulk_create(self.new_lots)
        if self.changed_lots:
            CreditLot.objects.bulk_update(list(self.changed_lots.values()), ["remaining"])
        if self.entries:
            for entry in self.entries:  # lots created above now have ids
                if entry.transaction.lot is not None:
                    entry.transaction.lot_id = entry.transaction.lot.pk
            Transaction.objects.bulk_create([entry.transaction for entry in self.entries])
            Posting.objects.bulk_create(self._postings())
        for account in accounts:
            account.save(update_fields=["balance", "held"])

    def _postings(self) -> list[Posting]:
        postings = []
        for entry in self.entries:
            for posting in entry.postings:
                posting.transaction = entry.transaction
                postings.append(posting)
        return postings

    def _write_in_one_statement(self, accounts) -> None:
        params: dict = {}
        parts: list[str] = []
        single = len(self.entries) == 1
        if self.entries and not single:  # several transactions: allocate their ids first
            with connection.cursor() as cursor:
                cursor.execute("SELECT nextval(pg_get_serial_sequence('ledger_transaction', 'id')) "
                               "FROM generate_series(1, %s)", [len(self.entries)])
                ids = [row[0] for row in cursor.fetchall()]
            for entry, pk in zip(self.entries, ids, strict=True):
                entry.transaction.pk = pk
            parts.append(_unnest_insert(Transaction, [e.transaction for e in self.entries], "t", params))
            parts.append(_unnest_insert(Posting, self._postings(), "p", params, with_pk=False))
        elif single:  # the hot path: the postings take the id the transaction insert returns
            txn = self.entries[0].transaction
            parts.append(_unnest_insert(Transaction, [txn], "t", params, with_pk=False) + " RETURNING id")
            posting_insert = _unnest_insert(Posting, self.entries[0].postings, "p", params, with_pk=False,
                                            transaction_from="w0")
            parts.append(posting_insert)
        if self.changed_lots:
            lots = list(self.changed_lots.values())
            params.update(lot_ids=[lot.pk for lot in lots], lot_remaining=[str(lot.remaining) for lot in lots])
            parts.append("UPDATE ledger_creditlot l SET remaining = v.remaining::numeric "
                         "FROM unnest(%(lot_ids)s::bigint[], %(lot_remaining)s::text[]) AS v(id, remaining) "
                         "WHERE l.id = v.id")
        if accounts:
            params.update(account_ids=[str(a.pk) for a in accounts], balances=[str(a.balance) for a in accounts],
                          helds=[str(a.held) for a in accounts])
            parts.append("UPDATE ledger_account a SET balance = v.balance::numeric, held = v.held::numeric "
                         "FROM unnest(%(account_ids)s::uuid[], %(balances)s::text[], %(helds)s::text[]) "
                         "AS v(id, balance, held) WHERE a.id = v.id")
        if not parts:
            return
        # Every write is a data-modifying CTE (all run, referenced or not); the query returns the new
        # transaction's id when there is a single one (w0, the transaction insert).
        ctes = ", ".join(f"w{i} AS ({part})" for i, part in enumerate(parts))
        with connection.cursor() as cursor:
            cursor.execute(f"WITH {ctes} " + ("SELECT id FROM w0" if single else "SELECT 1"), params)  # noqa: S608
            if single:
                self.entries[0].transaction.pk = cursor.fetchone()[0]
        for entry in self.entries:
            entry.transaction._state.adding, entry.transaction._state.db = False, connection.alias


def _db_text(field, obj):
    """A field's value as text for an unnest() of text arrays (cast back to the column type in SQL)."""
    value = getattr(obj, field.attname)
    if value is None:
        return None
    if isinstance(field, models.JSONField):
        return json.dumps(value, cls=DjangoJSONEncoder)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _unnest_insert(model, objs, prefix: str, params: dict, with_pk: bool = True,
                   transaction_from: str | None = None) -> str:
    """INSERT ... SELECT FROM unnest(text arrays), one array per column, for a list of unsaved rows.

    With `transaction_from`, the `transaction_id` column is taken from that CTE's returned id.
    """
    fields = [f for f in model._meta.concrete_fields if with_pk or not f.primary_key]
    columns, casts, arrays = [], [], []
    for index, column in enumerate(fields):
        columns.append(connection.ops.quote_name(column.column))
        if transaction_from and column.attname == "transaction_id":
            casts.append(f"(SELECT id FROM {transaction_from})")  # noqa: S608 - a CTE name of ours
            continue
        key = f"{prefix}{index}"
        params[key] = [_db_text(column, obj) for obj in objs]
        arrays.append(f"%({key})s::text[]")
        casts.append(f"c{index}::{column.db_type(connection)}")
    names = ", ".join(f"c{index}" for index in range(len(fields)) if f"%({prefix}{index})s::text[]" in arrays)
    return (f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "  # noqa: S608 - names from the model
            f"SELECT {', '.join(casts)} FROM unnest({', '.join(arrays)}) AS u({names})")


def _active_lots(account: Account) -> list[CreditLot]:
    """Lots with credit left, locked, in draw order: soonest expiry first, never last, older first.

    Read in a statement of its own once the account is locked: folded into the locking SELECT (as
    a subquery), the lots would come from the snapshot taken before waiting for the lock, and a
    concurrent charge's draws would be lost (tests/ledger/test_concurrency.py catches exactly that).
    """
    return list(
        CreditLot.objects.filter(account=account, remaining__gt=0)
        .order_by(F("expires_at").asc(nulls_last=True), "granted_at", "pk")
        .select_for_update()
    )


class _Funds:
    """The locked state of one funding account: its lots in draw order, with due lots expired first."""

    def __init__(self, account: Account, book: _Book, actor: Actor):
        self.account = account
        self.book = book
        lots = _active_lots(account)
        self.lots = [lot for lot in lots if lot.expires_at is None or lot.expires_at > book.at]
        for lot in lots:
            if lot.expires_at is not None and lot.expires_at <= book.at:
                _expire_lot(book, account, lot, actor)

    def draw(self, amount: Decimal) -> list[tuple[CreditLot, Decimal]]:
        """Take `amount` from lots in draw order; what no lot covers becomes a negative balance."""
        taken, need = [], amount
        for lot in self.lots:
            if need <= 0:
                break
            if lot.remaining <= 0:
                continue
            take = min(lot.remaining, need)
            lot.remaining -= take
            need -= take
            self.book.lot_changed(lot)
            taken.append((lot, take))
        return taken

    def receive(self, amount: Decimal, *, expires_at, source: str, actor: Actor, granted_at=None,
                purchase_order: str = "", comment: str = "", transferred_from=None) -> CreditLot:
        """Add a lot; a negative balance (debt) is repaid from it first."""
        debt = max(ZERO, -self.account.balance)
        lot = CreditLot(account=self.account, amount=amount, remaining=max(ZERO, amount - debt),
                        granted_at=granted_at or self.book.at, expires_at=expires_at, source=source,
                        purchase_order=purchase_order, comment=comment, created_by=actor.user,
                        created_by_service="" if actor.user is not None else actor.label,
                        transferred_from=transferred_from)
        self.book.new_lots.append(lot)
        return lot


def _expire_lot(book: _Book, account: Account, lot: CreditLot, actor: Actor) -> None:
    amount = lot.remaining
    lot.remaining = ZERO
    book.lot_changed(lot)
    book.add(account=account, kind=TransactionKind.EXPIRY, amount=amount, system_code=SystemAccount.Code.EXPIRED,
             actor=actor, lot=lot, memo=f"Lot {lot.pk} expired")


def _stamp(requested_at: datetime | None) -> datetime:
    """The instant of an operation: the one given, else the clock read once the locks are held.

    Reading the clock after locking keeps `created_at` in the same order as `balance_after` on an
    account, so "balance as of an instant" is exact under concurrency.
    """
    return requested_at if requested_at is not None else timezone.now()


def _save_account(account: Account) -> None:
    """Write the cached balance and held of a locked account; alert checks run after commit."""
    account.save(update_fields=["balance", "held"])
    transaction.on_commit(partial(_balances_changed, account.pk))


def _balances_changed(*account_ids) -> None:
    from alerts.hooks import balances_changed as alerts_balances_changed

    alerts_balances_changed(list(account_ids))
    balances_changed.send_robust(sender=Account, account_ids=list(account_ids))


# --- credits ----------------------------------------------------------------------------------


def credits_grant(*, actor: Actor, account: Account, amount: Decimal | str, expires_in: str = DEFAULT_EXPIRES_IN,
                  source: str = LotSource.GRANT, purchase_order: str = "", comment: str = "",
                  idempotency_key: str | None = None, at: datetime | None = None) -> Transaction:
    """Add credits to an account as a new lot; a negative balance is repaid from it first.

    Returns the grant transaction; `transaction.lot` is the new lot.
    """
    amount = to_amount(amount)
    if source not in (LotSource.GRANT, LotSource.PURCHASE, LotSource.REFUND):
        raise InvalidOperation(errors={"source": ["Choose grant, purchase or refund."]})
    _require_funds_holder(account)
    lot_expires_at(timezone.now(), expires_in, account.organization.tz)  # validates expires_in before locking
    system_code = {LotSource.GRANT: "issued", LotSource.PURCHASE: "purchases", LotSource.REFUND: "usage"}[source]

    def work():
        locked = lock_account(account.pk)
        book = _Book(_stamp(at))
        expires_at = lot_expires_at(book.at, expires_in, locked.organization.tz)
        lot = _Funds(locked, book, actor).receive(amount, expires_at=expires_at, source=source, actor=actor,
                                                  purchase_order=purchase_order, comment=comment)
        entry = book.add(account=locked, kind=source, amount=amount, signed=amount, system_code=system_code,
                         actor=actor, lot=lot, reference=purchase_order, memo=comment,
                         metadata={"expires_in": expires_in})
        book.flush(locked)
        return entry.transaction

    return run_idempotent(actor=actor, key=idempotency_key, operation="credits_grant",
                          params={"account": account, "amount": amount, "expires_in": expires_in, "source": source,
                                  "purchase_order": purchase_order, "comment": comment}, work=work)


def credits_remove(*, actor: Actor, account: Account, amount: Decimal | str, comment: str = "",
                   idempotency_key: str | None = None, at: datetime | None = None) -> Transaction:
    """Remove credits (not more than the positive balance), drawing lots like a charge."""
    amount = to_amount(amount)
    _require_funds_holder(account)

    def work():
        locked = lock_account(account.pk)
        book = _Book(_stamp(at))
        funds = _Funds(locked, book, actor)
        if amount > max(ZERO, locked.balance):
            raise InsufficientCredits(
                f"Cannot remove {amount}: the balance is {locked.balance}.",
                errors={"amount": [f"At most the positive balance ({max(ZERO, locked.balance)}) can be removed."]},
            )
        funds.draw(amount)
        entry = book.add(account=locked, kind=TransactionKind.REMOVAL, amount=amount,
                         system_code=SystemAccount.Code.REMOVALS, actor=actor, memo=comment)
        book.flush(locked)
        return entry.transaction

    return run_idempotent(actor=actor, key=idempotency_key, operation="credits_remove",
                          params={"account": account, "amount": amount, "comment": comment}, work=work)


# --- charges ----------------------------------------------------------------------------------


@dataclass
class ChargeRequest:
    """One charge before pricing: what was sent, to where, how much of it."""

    channel: str
    quantity: int = 1
    country: str | None = None
    recipient: str | None = None
    category: str | None = None
    traffic: str = Traffic.PROMOTIONAL
    reference: str = ""
    hold: Any = None  # a Hold or its id
    unit_price: Decimal | str | None = None
    amount: Decimal | str | None = None  # a fixed amount (hold captures); else unit price x quantity


@dataclass
class _PricedCharge:
    request: ChargeRequest
    amount: Decimal
    unit_price: Decimal
    country: str
    category: str
    rate_card_version_id: int | None


def _price(organization: Organization, request: ChargeRequest, at: datetime,
           prices: dict | None = None) -> _PricedCharge:
    """Validate and price a charge before any lock is taken."""
    if request.traffic not in Traffic.values:
        raise InvalidOperation(errors={"traffic": ["Choose promotional or transactional."]})
    if isinstance(request.quantity, bool) or not isinstance(request.quantity, int) or request.quantity < 1:
        raise InvalidOperation(errors={"quantity": ["The quantity must be a whole number of at least 1."]})
    country = (request.country or "").upper()
    category = request.category or ""
    version_id = None
    if request.amount is not None:
        amount = to_amount(request.amount)
        unit_price = (amount / request.quantity).quantize(QUANTUM, rounding=ROUND_HALF_UP)
    elif request.unit_price is not None:
        unit_price = to_amount(request.unit_price, field="unit_price", allow_zero=True)
        amount = charge_amount(unit_price, request.quantity)
    else:
        from ratecards.pricing import price_for

        key = (request.channel, request.country, request.recipient, request.category)
        price = prices.get(key) if prices is not None else None
        if price is None:
            price = price_for(organization=organization, channel=request.channel, country=request.country,
                              recipient=request.recipient, category=request.category, at=at)
            if prices is not None:  # a batch prices each distinct destination once
                prices[key] = price
        unit_price, version_id = price.unit_price, price.version.pk
        country = price.country or country
        amount = charge_amount(unit_price, request.quantity)
    return _PricedCharge(request, amount, unit_price, country, category, version_id)


def _apply_charge(*, book: _Book, funds: _Funds, account: Account, attributed_to: Account | None,
                  priced: _PricedCharge, hold: Hold | None, actor: Actor, kind: str) -> _Entry:
    """Charge one priced item on a locked funding account (draw from the hold first)."""
    locked = funds.account
    at = book.at
    from_hold = ZERO
    if hold is not None:
        if hold.status != HoldStatus.ACTIVE or hold.expires_at <= at:
            raise HoldNotActive(f"Hold {hold.pk} is {hold.status if hold.status != HoldStatus.ACTIVE else 'expired'}.")
        if hold.account_id != locked.pk:
            raise InvalidOperation(errors={"hold": ["The hold belongs to another account."]})
        from_hold = min(hold.remaining, priced.amount)
    excess = priced.amount - from_hold
    available = locked.available(book.at)
    if priced.request.traffic == Traffic.PROMOTIONAL and excess > available:
        raise InsufficientCredits(f"The charge of {priced.amount} needs {excess} more than the hold; "
                                  f"{max(ZERO, available)} is available." if hold else
                                  f"The charge of {priced.amount} exceeds the {max(ZERO, available)} available.")
    if hold is not None and from_hold > 0:
        hold.remaining -= from_hold
        locked.held -= from_hold
        if hold.remaining == 0:
            hold.status, hold.closed_at = HoldStatus.CAPTURED, at
        hold.save(update_fields=["remaining", "status", "closed_at"])
    funds.draw(priced.amount)
    request = priced.request
    entry = book.add(
        account=locked, kind=kind, amount=priced.amount, system_code=SystemAccount.Code.USAGE, actor=actor,
        subaccount=attributed_to, reference=request.reference, channel=request.channel or "",
        country=priced.country, category=priced.category, traffic=request.traffic, quantity=request.quantity,
        unit_price=priced.unit_price, rate_card_version_id=priced.rate_card_version_id, hold=hold,
    )
    entry.transaction.metadata = {"available_after": str(locked.available(book.at))}
    return entry


def _resolve_hold(hold, funding_id) -> Hold | None:
    if hold is None or hold == "":
        return None
    try:
        hold_id = hold.pk if isinstance(hold, Hold) else uuid.UUID(str(hold))
        return Hold.objects.select_for_update().get(pk=hold_id, account_id=funding_id)
    except (Hold.DoesNotExist, ValueError):
        raise InvalidOperation(errors={"hold": ["No such hold on this account."]})


def charge_create(*, actor: Actor, account: Account, channel: str, quantity: int = 1, country: str | None = None,
                  recipient: str | None = None, category: str | None = None, traffic: str = Traffic.PROMOTIONAL,
                  reference: str = "", hold=None, unit_price: Decimal | str | None = None,
                  idempotency_key: str | None = None, fingerprint: str | None = None,
                  at: datetime | None = None) -> Transaction:
    """Charge a send: priced from the rate card in force now (unless `unit_price` is given).

    Promotional traffic is refused unless available covers it; transactional traffic is never
    refused and may take the balance below zero. A shared subaccount's charge debits the
    master and is attributed to the subaccount. With `hold`, the hold is drawn first.
    """
    request = ChargeRequest(channel=channel, quantity=quantity, country=country, recipient=recipient,
                            category=category, traffic=traffic, reference=reference, hold=hold, unit_price=unit_price)
    return _charge(actor=actor, account=account, request=request, kind=TransactionKind.CHARGE,
                   idempotency_key=idempotency_key, fingerprint=fingerprint, at=at)


def _charge(*, actor, account, request: ChargeRequest, kind, idempotency_key, fingerprint, at) -> Transaction:
    organization = account.organization
    _require_credit_management(organization)
    priced = _price(organization, request, at or timezone.now())
    funding_id = funding_account_id(account)
    attributed_to = account if funding_id != account.pk else None

    def work():
        locked = lock_account(funding_id)
        book = _Book(_stamp(at))
        funds = _Funds(locked, book, actor)
        hold = _resolve_hold(request.hold, funding_id)
        entry = _apply_charge(book=book, funds=funds, account=account, attributed_to=attributed_to, priced=priced,
                              hold=hold, actor=actor, kind=kind)
        book.flush(locked)
        txn = entry.transaction
        txn.funding_account = locked
        return txn

    params = {"account": account, "channel": request.channel, "quantity": request.quantity,
              "country": request.country, "recipient": request.recipient, "category": request.category,
              "traffic": request.traffic, "reference": request.reference,
              "hold": request.hold.pk if isinstance(request.hold, Hold) else request.hold,
              "unit_price": request.unit_price, "amount": request.amount, "kind": kind}
    if connection.vendor == "postgresql" and kind == TransactionKind.CHARGE and not request.hold:
        if idempotency_key:
            _check_key(idempotency_key)
        return _charge_in_database(actor=actor, account=account, funding_id=funding_id, attributed_to=attributed_to,
                                   priced=priced, key=idempotency_key,
                                   fingerprint=fingerprint or request_fingerprint("charge_create", params), at=at)
    return run_idempotent(actor=actor, key=idempotency_key, operation="charge_create", params=params, work=work,
                          fingerprint=fingerprint)


CHARGE_SQL = "SELECT * FROM ledger_charge({})".format(", ".join(f"%s::{kind}" for kind in (  # noqa: S608 - fixed types
    "uuid", "uuid", "uuid", "text", "numeric", "numeric", "integer", "text", "text", "text", "text", "text", "bigint",
    "integer", "text", "timestamptz", "bigint", "bigint", "text", "text", "text", "text")))


def _charge_in_database(*, actor: Actor, account: Account, funding_id, attributed_to: Account | None,
                        priced: _PricedCharge, key: str | None, fingerprint: str, at: datetime | None) -> Transaction:
    """A charge without a hold in one round trip: ledger_charge() (ledger/sql/0011_charge_function.postgresql.sql).

    The same rules as the Python path below it (which serves holds, batches and other databases);
    the stateful and concurrency tests run against this one on PostgreSQL.
    """
    organization = account.organization
    currency = organization.currency
    request = priced.request
    args = [
        funding_id, attributed_to.pk if attributed_to else None, organization.pk, currency,
        priced.amount, priced.unit_price, request.quantity, request.traffic,
        request.channel or "", priced.country, priced.category, request.reference, priced.rate_card_version_id,
        actor.user_id, "" if actor.user is not None else actor.label, at,
        system_account(SystemAccount.Code.USAGE, currency).pk, system_account(SystemAccount.Code.EXPIRED, currency).pk,
        actor.caller, key, "charge_create", fingerprint,
    ]
    scope = transaction.atomic() if connection.in_atomic_block else nullcontext()  # a savepoint inside a block
    try:
        with scope, connection.cursor() as cursor:
            cursor.execute(CHARGE_SQL, args)
            (status, txn_id, balance_after, held, available_after, created_at,
             record_operation, record_fingerprint, record_model, record_id) = cursor.fetchone()
    except DatabaseError as exc:
        sqlstate = getattr(exc.__cause__, "sqlstate", None)
        if sqlstate == "LD402":
            raise InsufficientCredits(f"The charge of {priced.amount} exceeds the "
                                      f"{str(exc.__cause__).splitlines()[0]} available.")
        if sqlstate == "LD404":
            raise Account.DoesNotExist(f"Account {funding_id} does not exist.")
        raise
    if status == "exists":
        record = IdempotencyRecord(operation=record_operation, fingerprint=record_fingerprint,
                                   result_model=record_model, result_id=record_id)
        return _replay(record, "charge_create", fingerprint)
    txn = Transaction(pk=txn_id, organization_id=organization.pk, account_id=funding_id, subaccount=attributed_to,
                      kind=TransactionKind.CHARGE, currency=currency, amount=priced.amount, created_at=created_at,
                      reference=request.reference, channel=request.channel or "", country=priced.country,
                      category=priced.category, traffic=request.traffic, quantity=request.quantity,
                      unit_price=priced.unit_price, rate_card_version_id=priced.rate_card_version_id,
                      metadata={"available_after": str(available_after)}, **_actor_fields(actor))
    txn._state.adding, txn._state.db = False, connection.alias
    funding = copy.copy(account) if attributed_to is None else Account(
        pk=funding_id, organization=organization, is_master=True, balance_mode=BalanceMode.OWN)
    funding.balance, funding.held = balance_after, held
    txn.funding_account = funding
    transaction.on_commit(partial(_balances_changed, funding_id))
    return txn


@dataclass
class BatchItemResult:
    """One item of a batch: its transaction, or the error it would have had alone."""

    transaction: Transaction | None = None
    error: LedgerError | None = None

    @property
    def status(self) -> int:
        return 201 if self.error is None else self.error.status


@dataclass
class BatchResult:
    items: list[BatchItemResult]
    replayed: bool = False

    @property
    def total(self) -> Decimal:
        return sum((item.transaction.amount for item in self.items if item.transaction), ZERO)

    def to_record(self) -> list:
        return [{"transaction": item.transaction.pk} if item.transaction else
                {"error": item.error.as_dict(), "status": item.error.status} for item in self.items]

    @classmethod
    def from_record(cls, data: list) -> "BatchResult":
        ids = [row["transaction"] for row in data if "transaction" in row]
        by_id = Transaction.objects.in_bulk(ids)
        items = []
        for row in data:
            if "transaction" in row:
                items.append(BatchItemResult(transaction=by_id[row["transaction"]]))
            else:
                error = LedgerError(row["error"]["detail"], errors=row["error"].get("errors"))
                error.code, error.status = row["error"]["code"], row["status"]
                items.append(BatchItemResult(error=error))
        return cls(items)


def charge_batch(*, actor: Actor, account: Account, items: Sequence[ChargeRequest], atomic: bool = False,
                 idempotency_key: str | None = None, fingerprint: str | None = None,
                 at: datetime | None = None) -> BatchResult:
    """Charge up to 1000 items in order on one account, locking it once and writing rows in bulk.

    With `atomic`, any failing item refuses the whole batch (the first error is raised).
    """
    if len(items) > 1000:
        raise InvalidOperation(errors={"items": ["At most 1000 items per batch."]})
    if not items:
        raise InvalidOperation(errors={"items": ["At least one item is required."]})
    organization = account.organization
    _require_credit_management(organization)
    priced_at = at or timezone.now()
    priced: list[_PricedCharge | LedgerError] = []
    prices: dict = {}
    for request in items:
        try:
            priced.append(_price(organization, request, priced_at, prices))
        except LedgerError as error:
            if atomic:
                raise
            priced.append(error)
    funding_id = funding_account_id(account)
    attributed_to = account if funding_id != account.pk else None

    def work():
        locked = lock_account(funding_id)
        book = _Book(_stamp(at))
        funds = _Funds(locked, book, actor)
        results = []
        holds: dict = {}
        for item in priced:
            if isinstance(item, LedgerError):
                results.append(BatchItemResult(error=item))
                continue
            try:
                hold = None
                if item.request.hold:
                    key = item.request.hold.pk if isinstance(item.request.hold, Hold) else str(item.request.hold)
                    if key not in holds:
                        holds[key] = _resolve_hold(key, funding_id)
                    hold = holds[key]
                entry = _apply_charge(book=book, funds=funds, account=account, attributed_to=attributed_to,
                                      priced=item, hold=hold, actor=actor, kind=TransactionKind.CHARGE)
                results.append(BatchItemResult(transaction=entry.transaction))
            except LedgerError as error:
                if atomic:
                    raise
                results.append(BatchItemResult(error=error))
        book.flush(locked)
        for result in results:
            if result.transaction is not None:
                result.transaction.funding_account = locked
        return BatchResult(results)

    params = {"account": account, "atomic": atomic,
              "items": [{k: (v.pk if isinstance(v, Hold) else v) for k, v in vars(r).items()} for r in items]}
    return run_idempotent(actor=actor, key=idempotency_key, operation="charge_batch", params=params, work=work,
                          fingerprint=fingerprint)


# --- holds ------------------------------------------------------------------------------------


def hold_create(*, actor: Actor, account: Account, amount: Decimal | str, expires_in_seconds: int = 86400,
                reference: str = "", idempotency_key: str | None = None, fingerprint: str | None = None,
                at: datetime | None = None) -> Hold:
    """Reserve credits for a scheduled campaign; refused unless available covers it."""
    amount = to_amount(amount)
    if isinstance(expires_in_seconds, bool) or not isinstance(expires_in_seconds, int) or not (
            60 <= expires_in_seconds <= 90 * 86400):
        raise InvalidOperation(errors={"expires_in_seconds": ["Between 60 seconds and 90 days."]})
    _require_credit_management(account.organization)
    funding_id = funding_account_id(account)

    def work():
        locked = lock_account(funding_id)
        book = _Book(_stamp(at))
        _Funds(locked, book, actor)  # expire due lots first so available is exact
        available = locked.available(book.at)
        if amount > available:
            raise InsufficientCredits(f"A hold of {amount} exceeds the {max(ZERO, available)} available.")
        locked.held += amount
        hold = Hold.objects.create(account=locked, subaccount=account if account.pk != funding_id else None,
                                   amount=amount, remaining=amount, expires_at=book.at + timedelta(seconds=expires_in_seconds),
                                   reference=reference, created_at=book.at, created_by=actor.user,
                                   created_by_service="" if actor.user is not None else actor.label)
        book.flush(locked)
        return hold

    return run_idempotent(actor=actor, key=idempotency_key, operation="hold_create", fingerprint=fingerprint,
                          params={"account": account, "amount": amount, "expires_in_seconds": expires_in_seconds,
                                  "reference": reference}, work=work)


def hold_release(*, actor: Actor, hold: Hold, idempotency_key: str | None = None, fingerprint: str | None = None,
                 at: datetime | None = None) -> Hold:
    """Release what is left of an active hold; a released, expired or captured hold is refused."""
    at = at or timezone.now()

    def work():
        locked = lock_account(hold.account_id)
        current = Hold.objects.select_for_update().get(pk=hold.pk)
        if current.status != HoldStatus.ACTIVE:
            raise HoldNotActive(f"The hold is {current.status}.")
        if current.expires_at <= at:
            raise HoldNotActive("The hold has expired.")
        _close_hold(locked, current, HoldStatus.RELEASED, at)
        _save_account(locked)
        return current

    try:
        return run_idempotent(actor=actor, key=idempotency_key, operation="hold_release", params={"hold": hold},
                              work=work, fingerprint=fingerprint)
    except HoldNotActive:
        # an expired hold found here is recorded as expired (in its own transaction), then refused
        _expire_hold_now(hold.pk, at)
        raise


def _expire_hold_now(hold_id, at) -> None:
    hold = Hold.objects.get(pk=hold_id)
    if hold.status != HoldStatus.ACTIVE or hold.expires_at > at:
        return
    with transaction.atomic():
        locked = lock_account(hold.account_id)
        hold = Hold.objects.select_for_update().get(pk=hold_id)
        if hold.status == HoldStatus.ACTIVE:
            _close_hold(locked, hold, HoldStatus.EXPIRED, hold.expires_at)
            _save_account(locked)


def _close_hold(account: Account, hold: Hold, status: str, at: datetime) -> None:
    account.held -= hold.remaining
    hold.status, hold.closed_at = status, at
    hold.save(update_fields=["status", "closed_at"])


def hold_capture(*, actor: Actor, hold: Hold, amount: Decimal | str | None = None, reference: str = "",
                 channel: str = "", idempotency_key: str | None = None, at: datetime | None = None) -> Transaction:
    """Charge a fixed amount against a hold (default: all it has left); any excess is checked like a charge."""
    amount = hold.remaining if amount is None else to_amount(amount)
    if amount <= 0:
        raise HoldNotActive("The hold has nothing left to capture.")
    account = hold.subaccount or hold.account
    request = ChargeRequest(channel=channel, quantity=1, traffic=Traffic.PROMOTIONAL, reference=reference,
                            hold=hold.pk, amount=amount)
    return _charge(actor=actor, account=account, request=request, kind=TransactionKind.HOLD_CAPTURE,
                   idempotency_key=idempotency_key, fingerprint=None, at=at)


# --- transfers and limits ---------------------------------------------------------------------


def transfer_create(*, actor: Actor, from_account: Account, to_account: Account, amount: Decimal | str,
                    comment: str = "", idempotency_key: str | None = None, fingerprint: str | None = None,
                    at: datetime | None = None) -> Transaction:
    """Move credits between two fund-holding accounts of one org; moved credit keeps its expiry."""
    amount = to_amount(amount)
    if from_account.organization_id != to_account.organization_id:
        raise TransferNotAllowed("Credits can move only between accounts of one organization.")
    if BalanceMode.SHARED in (from_account.balance_mode, to_account.balance_mode):
        raise TransferNotAllowed("Shared-balance subaccounts hold no funds and cannot send or receive credits.")
    if from_account.pk == to_account.pk:
        raise InvalidOperation(errors={"to_account": ["Choose a different account to transfer to."]})
    _require_credit_management(from_account.organization)

    def work():
        locked = lock_accounts([from_account.pk, to_account.pk])
        sender, receiver = locked[from_account.pk], locked[to_account.pk]
        book = _Book(_stamp(at))
        moment = book.at
        sender_funds = _Funds(sender, book, actor)
        receiver_funds = _Funds(receiver, book, actor)
        limit = min(max(ZERO, sender.balance), max(ZERO, sender.available(moment)))
        if amount > limit:
            raise InsufficientCredits(f"Cannot transfer {amount}: at most {limit} can leave {sender.name}.",
                                      errors={"amount": [f"At most {limit} can be transferred."]})
        for lot, take in sender_funds.draw(amount):
            receiver_funds.receive(take, expires_at=lot.expires_at, granted_at=lot.granted_at,
                                   source=LotSource.TRANSFER, actor=actor, comment=comment, transferred_from=lot)
            receiver.balance += take  # each moved portion repays the receiver's debt before the next
        sender.balance -= amount
        txn = Transaction(organization_id=sender.organization_id, account=sender, kind=TransactionKind.TRANSFER,
                          currency=sender.organization.currency, amount=amount, created_at=moment, memo=comment,
                          metadata={"to_account": str(receiver.pk)}, **_actor_fields(actor))
        book.entries.append(_Entry(txn, [
            Posting(account=sender, amount=-amount, balance_after=sender.balance, created_at=moment),
            Posting(account=receiver, amount=amount, balance_after=receiver.balance, created_at=moment),
        ]))
        book.flush(sender, receiver)
        return txn

    return run_idempotent(actor=actor, key=idempotency_key, operation="transfer_create", fingerprint=fingerprint,
                          params={"from": from_account, "to": to_account, "amount": amount, "comment": comment},
                          work=work)


def credit_limit_set(*, actor: Actor, account: Account, amount: Decimal | str, temporary_days: int | None = None,
                     comment: str = "", at: datetime | None = None) -> Account:
    """Set the permanent limit, or a temporary one for N days (then the permanent one applies again)."""
    amount = to_amount(amount, allow_zero=True)
    _require_funds_holder(account)
    if temporary_days is not None and (isinstance(temporary_days, bool) or not isinstance(temporary_days, int)
                                       or not 1 <= temporary_days <= 365):
        raise InvalidOperation(errors={"temporary_days": ["Between 1 and 365 days."]})
    at = at or timezone.now()
    with transaction.atomic(durable=True):
        locked = lock_account(account.pk)
        previous = locked.effective_credit_limit(at)
        org = locked.organization
        expires_at = None
        if temporary_days is None:
            if org.payment_scheme == PaymentScheme.POSTPAID and locked.is_master and amount <= 0:
                raise InvalidOperation("A postpaid organization needs a credit limit.",
                                       errors={"amount": ["A postpaid account needs a credit limit above zero."]})
            locked.credit_limit = amount
            locked.temporary_credit_limit = locked.temporary_credit_limit_expires_at = None
        else:
            expires_at = at + timedelta(days=temporary_days)
            locked.temporary_credit_limit, locked.temporary_credit_limit_expires_at = amount, expires_at
        locked.save(update_fields=["credit_limit", "temporary_credit_limit", "temporary_credit_limit_expires_at"])
        CreditLimitChange.objects.create(account=locked, amount=amount, temporary_days=temporary_days,
                                         expires_at=expires_at, previous_limit=previous, created_at=at,
                                         comment=comment, **_actor_fields(actor))
        return locked


# --- jobs: expiry and month close --------------------------------------------------------------


def _due_account_ids(queryset, limit: int | None) -> list:
    ids = list(queryset.order_by().values_list("account_id", flat=True).distinct()[: limit or None])
    return sorted(set(ids), key=str)


# One statement expires every due lot of a chunk of (locked) accounts: the lots are emptied, one expiry
# transaction per lot is inserted with its two postings, and the cached balances drop. balance_after
# is the account balance minus the running sum of the due lots in draw order (an account with credit
# in its lots has no debt, so its balance is exactly the lots' remaining amounts).
EXPIRE_DUE_LOTS_SQL = """
WITH due AS (
    SELECT l.id AS lot_id, l.account_id, l.remaining, l.expires_at, l.granted_at, a.organization_id, o.currency,
           a.balance - SUM(l.remaining) OVER (PARTITION BY l.account_id
                                             ORDER BY l.expires_at, l.granted_at, l.id) AS balance_after
    FROM unnest(%(ids)s::uuid[]) AS chunk (account_id)
    JOIN ledger_account a ON a.id = chunk.account_id
    JOIN ledger_organization o ON o.id = a.organization_id
    JOIN ledger_creditlot l ON l.account_id = a.id AND l.remaining > 0 AND l.expires_at <= %(at)s
),
lots AS (
    UPDATE ledger_creditlot l SET remaining = 0 FROM due WHERE l.id = due.lot_id RETURNING l.id
),
txns AS (
    INSERT INTO ledger_transaction (organization_id, account_id, kind, currency, amount, created_at, actor_service,
                                    reference, memo, channel, country, category, traffic, period, metadata, lot_id)
    SELECT organization_id, account_id, 'expiry', currency, remaining, %(at)s, %(actor)s, '',
           'Lot ' || lot_id || ' expired', '', '', '', '', '', '{}'::jsonb, lot_id
    FROM due ORDER BY account_id, expires_at, granted_at, lot_id
    RETURNING id, lot_id, account_id, amount, currency
),
postings AS (
    INSERT INTO ledger_posting (transaction_id, account_id, system_account_id, amount, balance_after, created_at)
    SELECT t.id, t.account_id, NULL, -t.amount, d.balance_after, %(at)s FROM txns t JOIN due d ON d.lot_id = t.lot_id
    UNION ALL
    SELECT t.id, NULL, s.id, t.amount, NULL, %(at)s
    FROM txns t JOIN ledger_systemaccount s ON s.code = 'expired' AND s.currency = t.currency
    RETURNING 1
),
accounts AS (
    UPDATE ledger_account a SET balance = a.balance - x.total
    FROM (SELECT account_id, SUM(remaining) AS total FROM due GROUP BY account_id) x
    WHERE a.id = x.account_id RETURNING a.id
)
SELECT (SELECT count(*) FROM txns), (SELECT count(*) FROM postings), (SELECT count(*) FROM lots)
"""


def lots_expire(*, at: datetime | None = None, actor: Actor = SYSTEM, limit: int | None = None,
                chunk: int = 1000, workers: int = 2) -> int:
    """Expire every lot past its expiry as of `at`: one expiry transaction per lot. Safe to run twice.

    Accounts are processed in chunks, each locked in primary-key order in its own transaction. On
    PostgreSQL one set-based statement does a whole chunk, and when there are several chunks up to
    `workers` threads (each on its own connection) take alternate chunks; elsewhere the rows are
    built per account.
    """
    at = at or timezone.now()
    due = CreditLot.objects.filter(remaining__gt=0, expires_at__lte=at)
    account_ids = _due_account_ids(due, limit)
    if not account_ids:
        return 0
    if connection.vendor != "postgresql":
        return sum(_expire_account_lots(account_id, at, actor) for account_id in account_ids)
    for currency in due.order_by().values_list("account__organization__currency", flat=True).distinct():
        system_account(SystemAccount.Code.EXPIRED, currency)
    chunks = [account_ids[start:start + chunk] for start in range(0, len(account_ids), chunk)]
    if workers <= 1 or len(chunks) == 1 or connection.in_atomic_block:
        return sum(_expire_chunk(ids, at, actor) for ids in chunks)

    def run(share: list) -> int:
        try:
            return sum(_expire_chunk(ids, at, actor) for ids in share)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return sum(pool.map(run, [chunks[index::workers] for index in range(workers)]))


def _expire_chunk(ids: list, at: datetime, actor: Actor) -> int:
    with transaction.atomic(durable=True), connection.cursor() as cursor:
        cursor.execute("SELECT id FROM ledger_account WHERE id = ANY(%s) ORDER BY id FOR UPDATE", [ids])
        cursor.execute(EXPIRE_DUE_LOTS_SQL, {"ids": ids, "at": at, "actor": actor.label})
        transactions, postings, lots = cursor.fetchone()
        if postings != 2 * transactions or lots != transactions:  # pragma: no cover - guarded by triggers too
            raise IntegrityError(f"expiry wrote {transactions} transactions, {postings} postings, {lots} lots")
        transaction.on_commit(partial(_balances_changed, *ids))
        return transactions


def _expire_account_lots(account_id, at: datetime, actor: Actor) -> int:
    with transaction.atomic(durable=True):
        locked = lock_account(account_id)
        book = _Book(at)
        lots = [lot for lot in _active_lots(locked) if lot.expires_at is not None and lot.expires_at <= at]
        for lot in lots:
            _expire_lot(book, locked, lot, actor)
        book.flush(locked)
        return len(lots)


def holds_expire(*, at: datetime | None = None) -> int:
    """Mark active holds past their expiry as expired and free what they had left."""
    at = at or timezone.now()
    due = Hold.objects.filter(status=HoldStatus.ACTIVE, expires_at__lte=at)
    count = 0
    for account_id in _due_account_ids(due, None):
        with transaction.atomic(durable=True):
            locked = lock_account(account_id)
            for hold in Hold.objects.filter(account=locked, status=HoldStatus.ACTIVE, expires_at__lte=at
                                            ).select_for_update():
                _close_hold(locked, hold, HoldStatus.EXPIRED, hold.expires_at)
                count += 1
            _save_account(locked)
    return count


def credit_limits_expire(*, at: datetime | None = None) -> int:
    """Drop temporary credit limits past their expiry; the permanent limit applies again."""
    at = at or timezone.now()
    due = Account.objects.filter(temporary_credit_limit_expires_at__lte=at).values_list("pk", flat=True)
    count = 0
    for account_id in sorted(due, key=str):
        with transaction.atomic(durable=True):
            locked = lock_account(account_id)
            if locked.temporary_credit_limit_expires_at is None or locked.temporary_credit_limit_expires_at > at:
                continue
            previous = locked.temporary_credit_limit
            locked.temporary_credit_limit = locked.temporary_credit_limit_expires_at = None
            locked.save(update_fields=["temporary_credit_limit", "temporary_credit_limit_expires_at"])
            CreditLimitChange.objects.create(account=locked, amount=locked.credit_limit, previous_limit=previous,
                                             created_at=at, actor_service="system",
                                             comment="Temporary credit limit expired")
            count += 1
    return count


def billing_period(organization: Organization, at: datetime) -> str:
    """The month that closed at the last local month start before `at` (YYYY-MM)."""
    local = at.astimezone(organization.tz)
    previous = local.replace(day=1) - timedelta(days=1)
    return f"{previous.year:04d}-{previous.month:02d}"


def postpaid_month_close(*, organization: Organization, at: datetime | None = None,
                         actor: Actor = SYSTEM) -> list[Transaction]:
    """Move a postpaid org's unbilled usage to an invoice per account; balances return to zero.

    The period is the local month before `at` in the org's timezone; closing twice changes nothing.
    """
    at = at or timezone.now()
    if organization.payment_scheme != PaymentScheme.POSTPAID:
        return []
    period = billing_period(organization, at)
    local_month_start = at.astimezone(organization.tz).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    invoices = []
    for account_id in organization.accounts.filter(balance_mode=BalanceMode.OWN).values_list("pk", flat=True):
        with transaction.atomic(durable=True):
            locked = lock_account(account_id)
            if locked.balance >= 0 or Transaction.objects.filter(account=locked, kind=TransactionKind.INVOICE,
                                                                  period=period).exists():
                continue
            # Bill what was owed when the month ended, not usage since (capped by what is owed now).
            owed_at_month_start = -(Posting.objects.filter(account=locked, created_at__lt=local_month_start)
                                    .order_by("-created_at", "-id").values_list("balance_after", flat=True)
                                    .first() or ZERO)
            amount = min(owed_at_month_start, -locked.balance)
            if amount <= 0:
                continue
            book = _Book(at)
            entry = book.add(account=locked, kind=TransactionKind.INVOICE, amount=amount, signed=amount,
                             system_code=SystemAccount.Code.RECEIVABLES, actor=actor, period=period,
                             memo=f"Usage invoiced for {period}",
                             metadata={"month_start": local_month_start.isoformat()})
            book.flush(locked)
            invoices.append(entry.transaction)
    return invoices


def idempotency_keys_purge(*, older_than: datetime) -> int:
    """Delete idempotency records created before `older_than` (kept at least 7 days)."""
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=older_than).delete()
    return deleted
