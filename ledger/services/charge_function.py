"""The database path of charges on PostgreSQL: one call of ledger_charge() per charge, of ledger_charge_batch() per batch.

Both functions (ledger/sql/functions/) claim the idempotency key and hand the items to
ledger_charge_items(), the rules' one home in SQL: it locks the funding account, reads the clock,
expires the account's due lots, locks each item's hold, applies the rules of ledger.services.rules,
draws the lots and writes the charges with their postings and the cached balance, all in one round
trip. A refusal comes back as one of its SQLSTATEs (raised by ledger_charge(), per item from
ledger_charge_batch()), turned here into the errors the Python path raises.
"""

import copy
import uuid
from contextlib import nullcontext
from datetime import datetime
from decimal import Decimal

from django.db import DatabaseError, connection, models, transaction
from django.db.models.base import ModelState

from ..errors import LedgerError
from ..models import Account, IdempotencyRecord, SystemAccount, Transaction, TransactionKind
from ..money import Actor
from .book import Movement, publish_after_commit, publish_lock_wait, publish_refusal, system_account
from .idempotency import replay
from .results import BatchItemResult, BatchResult
from .rules import hold_not_active, insufficient_charge, no_such_hold, org_blocked

ARGUMENT_TYPES = (
    "uuid", "uuid", "uuid", "text", "text", "numeric", "numeric", "integer", "text", "text", "text", "text", "text",
    "bigint", "uuid", "integer", "text", "timestamptz", "bigint", "bigint", "text", "text", "text", "text")
CHARGE_SQL = "SELECT * FROM ledger_charge({})".format(  # noqa: S608 - fixed placeholders and types
    ", ".join(f"%s::{kind}" for kind in ARGUMENT_TYPES))

BATCH_TYPES = (
    "uuid", "uuid", "uuid", "text", "boolean", "numeric[]", "numeric[]", "integer[]", "text[]", "text[]", "text[]",
    "text[]", "text[]", "bigint[]", "text[]", "integer", "text", "timestamptz", "bigint", "bigint", "text", "text",
    "text", "text")
BATCH_SQL = "SELECT * FROM ledger_charge_batch({})".format(  # noqa: S608 - fixed placeholders and types
    ", ".join(f"%s::{kind}" for kind in BATCH_TYPES))

REFUSED = "LD402"  # detail: available|excess
BLOCKED = "LD410"  # the org's spending policy stops spending
NO_ACCOUNT = "LD404"
NO_HOLD = "LD400"
HOLD_NOT_ACTIVE = "LD409"  # detail: the hold's state (released, captured, expired)


def charge_in_database(*, actor: Actor, account: Account, funding: Account, attributed_to: Account | None,
                       priced, kind: str, hold_id, key: str | None, fingerprint: str,
                       at: datetime | None) -> Transaction:
    """Charge a priced request in one call of ledger_charge(); the Transaction returned is built from its result."""
    organization = account.organization
    currency = organization.currency
    request = priced.request
    args = [
        funding.pk, attributed_to.pk if attributed_to else None, organization.pk, currency, kind,
        priced.amount, priced.unit_price, request.quantity, request.traffic,
        request.channel or "", priced.country, priced.category, request.reference, priced.rate_card_version_id,
        hold_id, actor.user_id, actor.service_label, at,
        system_account(SystemAccount.Code.USAGE, currency).pk, system_account(SystemAccount.Code.EXPIRED, currency).pk,
        actor.caller, key, "charge_create", fingerprint,
    ]
    scope = transaction.atomic() if connection.in_atomic_block else nullcontext()  # a savepoint inside a block
    try:
        with scope, connection.cursor() as cursor:
            cursor.execute(CHARGE_SQL, args)
            (status, txn_id, balance_after, held, available_after, created_at, expired_lots, expired_amount,
             record_operation, record_fingerprint, record_model, record_id, lock_wait) = cursor.fetchone()
    except DatabaseError as exc:
        refusal = _refusal(exc, priced=priced, hold_id=hold_id, funding=funding, organization=organization)
        if refusal is None:
            raise
        raise refusal from exc
    publish_lock_wait("charge_create", lock_wait)
    if status == "exists":
        record = IdempotencyRecord(operation=record_operation, fingerprint=record_fingerprint,
                                   result_model=record_model, result_id=record_id)
        return replay(record, "charge_create", fingerprint)
    txn = Transaction(pk=txn_id, organization_id=organization.pk, account_id=funding.pk, subaccount=attributed_to,
                      kind=kind, currency=currency, amount=priced.amount, created_at=created_at,
                      reference=request.reference, channel=request.channel or "", country=priced.country,
                      category=priced.category, traffic=request.traffic, quantity=request.quantity,
                      unit_price=priced.unit_price, rate_card_version_id=priced.rate_card_version_id, hold_id=hold_id,
                      metadata={"available_after": str(available_after)}, **actor.actor_fields())
    txn._state.adding, txn._state.db = False, connection.alias
    txn.funding_account = copy.copy(funding)
    txn.funding_account.balance, txn.funding_account.held = balance_after, held
    expired = [Movement(kind=TransactionKind.EXPIRY, currency=currency, amount=expired_amount, count=expired_lots,
                        account_id=funding.pk)] if expired_lots else []
    publish_after_commit("charge_create", [funding.pk], [txn], expired, idempotency_key=key)
    return txn


def _refusal(exc: DatabaseError, *, priced, hold_id, funding: Account, organization) -> Exception | None:
    """The domain error of a refusal signalled by ledger_charge(), or None for any other database error."""
    sqlstate = getattr(exc.__cause__, "sqlstate", None)
    detail = str(exc.__cause__).splitlines()[0] if exc.__cause__ is not None else ""
    return refusal_error(sqlstate, detail, priced=priced, hold_id=hold_id, funding=funding, organization=organization)


def refusal_error(sqlstate: str | None, detail: str, *, priced, hold_id, funding: Account,
                  organization) -> Exception | None:
    """The domain error of a refusal's SQLSTATE and detail (ledger_charge_items()), or None for any other."""
    if sqlstate == REFUSED:
        available, excess = (Decimal(part) for part in detail.split("|"))
        return insufficient_charge(amount=priced.amount, excess=excess, available=available,
                                   with_hold=hold_id is not None, currency=organization.currency)
    if sqlstate == BLOCKED:
        return org_blocked(organization)
    if sqlstate == HOLD_NOT_ACTIVE:
        return hold_not_active(hold_id, detail)
    if sqlstate == NO_HOLD:
        return no_such_hold()
    if sqlstate == NO_ACCOUNT:
        return Account.DoesNotExist(f"Account {funding.pk} does not exist.")
    return None


def batch_in_database(*, actor: Actor, account: Account, funding: Account, attributed_to: Account | None,
                      priced: list, atomic: bool, key: str | None, fingerprint: str | None,
                      at: datetime | None) -> BatchResult:
    """Charge a batch's priced items (a pricing error stands in for an item that failed pricing) in one call of
    ledger_charge_batch(), within one transaction that also stores the result on the idempotency key's record.

    The same BatchResult as the Python path: with `atomic`, the first refused item's error is raised and nothing
    is written; otherwise refused items carry their error. A key used before replays its stored result.
    """
    organization = account.organization
    currency = organization.currency
    items = [item for item in priced if not isinstance(item, LedgerError)]
    requests = [item.request for item in items]
    holds = [_hold_text(request.hold) for request in requests]
    args = [
        funding.pk, attributed_to.pk if attributed_to else None, organization.pk, currency, atomic,
        _array([item.amount for item in items]), _array([item.unit_price for item in items]),
        _array([request.quantity for request in requests]), _text_array([request.traffic for request in requests]),
        _text_array([request.channel or "" for request in requests]), _text_array([item.country for item in items]),
        _text_array([item.category for item in items]), _text_array([request.reference for request in requests]),
        _array([item.rate_card_version_id for item in items]), _text_array(holds),
        actor.user_id, actor.service_label, at,
        system_account(SystemAccount.Code.USAGE, currency).pk, system_account(SystemAccount.Code.EXPIRED, currency).pk,
        actor.caller, key, "charge_batch", fingerprint,
    ]
    with transaction.atomic(durable=True):
        try:
            with connection.cursor() as cursor:
                cursor.execute(BATCH_SQL, args)
                rows = cursor.fetchall()
        except DatabaseError as exc:
            if getattr(exc.__cause__, "sqlstate", None) == NO_ACCOUNT:
                raise Account.DoesNotExist(f"Account {funding.pk} does not exist.") from exc
            raise
        if rows[0][0] == "exists":
            return replay(IdempotencyRecord.objects.get(caller=actor.caller, key=key), "charge_batch", fingerprint)
        held, created_at, expired_lots, expired_amount, lock_wait = rows[0][5:]
        final = copy.copy(funding)  # every transaction's funding_account: the account after the batch
        final.held = held
        build = _transaction_builder(organization_id=organization.pk, account_id=funding.pk, subaccount=attributed_to,
                                     kind=TransactionKind.CHARGE, currency=currency, created_at=created_at,
                                     **actor.actor_fields())
        results, transactions = [], []
        outcomes = iter(zip(items, holds, rows, strict=True))
        for entry in priced:
            if isinstance(entry, LedgerError):
                results.append(BatchItemResult(error=entry))
                continue
            item, hold, row = next(outcomes)
            status, detail, txn_id, balance_after, available_after = row[:5]
            if status != "ok":
                error = refusal_error(status, detail, priced=item, hold_id=hold, funding=funding,
                                      organization=organization)
                publish_refusal("charge_batch", account.pk, error)
                if atomic:
                    raise error
                results.append(BatchItemResult(error=error))
                continue
            request = item.request
            txn = build(id=txn_id, amount=item.amount, reference=request.reference, channel=request.channel or "",
                        country=item.country, category=item.category, traffic=request.traffic,
                        quantity=request.quantity, unit_price=item.unit_price,
                        rate_card_version_id=item.rate_card_version_id, hold_id=uuid.UUID(hold) if hold else None,
                        metadata={"available_after": str(available_after)})
            txn.funding_account = final
            final.balance = balance_after
            transactions.append(txn)
            results.append(BatchItemResult(transaction=txn))
        result = BatchResult(results)
        if key:
            IdempotencyRecord.objects.filter(caller=actor.caller, key=key).update(result_model="batch",
                                                                                  result_data=result.to_record())
    publish_lock_wait("charge_batch", lock_wait)
    expired = [Movement(kind=TransactionKind.EXPIRY, currency=currency, amount=expired_amount, count=expired_lots,
                        account_id=funding.pk)] if expired_lots else []
    publish_after_commit("charge_batch", [funding.pk], transactions, expired, idempotency_key=key)
    return result


def _transaction_builder(**common):
    """A maker of saved Transaction instances (rows the function wrote) sharing `common` field values.

    Builds each instance as Model.from_db() would, without running Model.__init__ per field (a batch makes
    up to 1,000): the attribute dict of one instance made the ordinary way, copied with the item's values,
    and the related objects given in `common` (the subaccount, the actor's user) cached as __init__ caches them.
    """
    template = Transaction(**common)
    values = {key: value for key, value in template.__dict__.items() if key != "_state"}
    cached = dict(template._state.fields_cache)
    alias = connection.alias

    def build(**fields) -> Transaction:
        txn = Transaction.__new__(Transaction)
        state = ModelState()
        state.adding, state.db, state.fields_cache = False, alias, dict(cached)
        txn.__dict__ = {**values, **fields, "_state": state}
        return txn

    return build


def _array(values: list) -> str:
    """A numeric or integer array literal ('{1,2.5,NULL}'), cast by the SQL: quicker than adapting each element."""
    return "{" + ",".join("NULL" if value is None else str(value) for value in values) + "}"


def _text_array(values: list) -> str:
    """A text array literal, each element quoted ('{"a","b \\"c\\"",NULL}')."""
    if values and None not in values:
        joined = '","'.join(values)
        if '"' not in joined and "\\" not in joined:  # nothing to escape: the usual case
            return '{"' + joined + '"}'
    return "{" + ",".join("NULL" if value is None else
                          '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"' for value in values) + "}"


def _hold_text(hold) -> str | None:
    """An item's hold for ledger_charge_batch(): None without one, its id as text, '' when that is no hold id."""
    if not hold:
        return None
    try:
        return str(hold.pk if isinstance(hold, models.Model) else uuid.UUID(str(hold)))
    except ValueError:
        return ""
