"""The database path of a charge: one call of ledger_charge() (ledger/sql/functions/ledger_charge.sql) on PostgreSQL.

The function claims the idempotency key, locks the funding account, reads the clock, expires the
account's due lots, locks the hold (if any), applies the rules of ledger.services.rules, draws
the lots and writes the charge with its postings and the cached balance, all in one round trip.
It signals a refusal with its own SQLSTATEs, turned here into the errors the Python path raises.
"""

import copy
from contextlib import nullcontext
from datetime import datetime
from decimal import Decimal

from django.db import DatabaseError, connection, transaction

from ..models import Account, IdempotencyRecord, SystemAccount, Transaction, TransactionKind
from ..money import Actor
from .book import Movement, publish_after_commit, publish_lock_wait, system_account
from .idempotency import replay
from .rules import hold_not_active, insufficient_charge, no_such_hold, org_blocked

ARGUMENT_TYPES = (
    "uuid", "uuid", "uuid", "text", "text", "numeric", "numeric", "integer", "text", "text", "text", "text", "text",
    "bigint", "uuid", "integer", "text", "timestamptz", "bigint", "bigint", "text", "text", "text", "text")
CHARGE_SQL = "SELECT * FROM ledger_charge({})".format(  # noqa: S608 - fixed placeholders and types
    ", ".join(f"%s::{kind}" for kind in ARGUMENT_TYPES))

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
