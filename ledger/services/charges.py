"""Charges: price a send before any lock, then charge it on its funding account (alone, against a hold, in a batch).

Two implementations apply the rules of ledger.services.rules: on PostgreSQL a single charge (with
or without a hold, and hold captures) is one call of the function ledger_charge() and a batch one
call of ledger_charge_batch() (charge_function.py; both hand their items to ledger_charge_items(),
the rules' one home in SQL); elsewhere or with the setting LEDGER_MONEY_PATH = "python" the Python
path below. Either way a batch locks its account once, charges its items in order, each seeing what
the items before it left (a refused promotional item leaves available to the next), draws the holds
its items name, and writes its rows in one statement; pricing is Python's on both paths. A batch
whose every item failed pricing takes the Python path (it only expires the account's due lots).
"""

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from .. import pricing
from ..errors import HoldNotActive, InvalidOperation, LedgerError
from ..locks import lock_account, lock_hold
from ..models import (
    Account,
    Hold,
    HoldStatus,
    Organization,
    SystemAccount,
    Traffic,
    Transaction,
    TransactionKind,
)
from ..money import Actor, charge_amount, to_amount, to_quantity, unit_price_of
from .book import Book, Entry, publish_lock_wait, publish_refusal, stamp
from .charge_function import batch_in_database, charge_in_database
from .idempotency import check_key, request_fingerprint, run_idempotent
from .lots import Funds
from .results import BatchItemResult, BatchResult
from .rules import charge_refusal, no_such_hold, require_active_hold, require_credit_management

MAX_BATCH = 1000
TRAFFIC_VALUES = frozenset(Traffic.values)  # Traffic.values builds a new list on every access


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

    @property
    def hold_id(self):
        return self.hold.pk if isinstance(self.hold, Hold) else self.hold


@dataclass
class PricedCharge:
    """A charge request with its amount, unit price and where the price came from."""

    request: ChargeRequest
    amount: Decimal
    unit_price: Decimal
    country: str
    category: str
    rate_card_version_id: int | None


def price(organization: Organization, request: ChargeRequest, at: datetime,
          prices: dict | None = None) -> PricedCharge:
    """Validate and price a charge before any lock is taken (a batch passes `prices` to price each destination once)."""
    if request.traffic not in TRAFFIC_VALUES:
        raise InvalidOperation(errors={"traffic": ["Choose promotional or transactional."]})
    to_quantity(request.quantity)
    country = (request.country or "").upper()
    category = request.category or ""
    version_id = None
    if request.amount is not None:
        amount = to_amount(request.amount)
        unit_price = unit_price_of(amount, request.quantity)
    elif request.unit_price is not None:
        unit_price = to_amount(request.unit_price, field="unit_price", allow_zero=True)
        amount = charge_amount(unit_price, request.quantity)
    else:
        key = (request.channel, request.country, request.recipient, request.category)
        found = prices.get(key) if prices is not None else None
        if found is None:
            found = pricing.price_lookup()(organization=organization, channel=request.channel,
                                           country=request.country, recipient=request.recipient,
                                           category=request.category, at=at)
            if prices is not None:
                prices[key] = found
        unit_price, version_id = found.unit_price, found.version.pk
        country = found.country or country
        amount = charge_amount(unit_price, request.quantity)
    return PricedCharge(request, amount, unit_price, country, category, version_id)


def resolve_hold(hold, funding_id) -> Hold | None:
    """Lock the hold a charge names (a Hold or its id) on the funding account; none named is None."""
    if hold is None or hold == "":
        return None
    try:
        return lock_hold(hold_uuid(hold), account_id=funding_id)
    except Hold.DoesNotExist:
        raise no_such_hold()


def hold_uuid(hold) -> uuid.UUID:
    """The id of a hold given as a Hold, a UUID or its text; a malformed id is `no_such_hold`."""
    try:
        return hold.pk if isinstance(hold, Hold) else uuid.UUID(str(hold))
    except ValueError:
        raise no_such_hold()


def apply_charge(*, book: Book, funds: Funds, attributed_to: Account | None, priced: PricedCharge,
                 hold: Hold | None, actor: Actor, kind: str) -> Entry:
    """Charge one priced item on a locked funding account (the Python path): draw from the hold first."""
    locked = funds.account
    at = book.at
    from_hold = Decimal(0)
    if hold is not None:
        require_active_hold(hold, at)
        from_hold = min(hold.remaining, priced.amount)
    refusal = charge_refusal(organization=locked.organization, traffic=priced.request.traffic, amount=priced.amount,
                             excess=priced.amount - from_hold, available=locked.available(at),
                             with_hold=hold is not None)
    if refusal is not None:
        raise refusal
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
    entry.transaction.metadata = {"available_after": str(locked.available(at))}
    return entry


def uses_charge_function() -> bool:
    """Whether single charges go through ledger_charge(): on PostgreSQL unless LEDGER_MONEY_PATH is "python"."""
    return connection.vendor == "postgresql" and settings.LEDGER_MONEY_PATH == "database"


def charge_create(*, actor: Actor, account: Account, channel: str, quantity: int = 1, country: str | None = None,
                  recipient: str | None = None, category: str | None = None, traffic: str = Traffic.PROMOTIONAL,
                  reference: str = "", hold=None, unit_price: Decimal | str | None = None,
                  idempotency_key: str | None = None, fingerprint: str | None = None,
                  at: datetime | None = None) -> Transaction:
    """Charge a send: priced from the rate card in force now (unless `unit_price` is given).

    What is refused follows the org's spending policy (rules.py; by default promotional traffic
    must fit available, transactional traffic never refused and may take the balance below
    zero). A shared subaccount's charge debits the master and is attributed to the subaccount.
    With `hold`, the hold is drawn first.
    """
    request = ChargeRequest(channel=channel, quantity=quantity, country=country, recipient=recipient,
                            category=category, traffic=traffic, reference=reference, hold=hold, unit_price=unit_price)
    return _charge(actor=actor, account=account, request=request, kind=TransactionKind.CHARGE,
                   idempotency_key=idempotency_key, fingerprint=fingerprint, at=at)


def _charge(*, actor, account, request: ChargeRequest, kind, idempotency_key, fingerprint, at) -> Transaction:
    try:
        return _charge_once(actor=actor, account=account, request=request, kind=kind,
                            idempotency_key=idempotency_key, fingerprint=fingerprint, at=at)
    except LedgerError as error:
        publish_refusal("charge_create", account.pk, error)
        raise


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


def _charge_once(*, actor, account, request: ChargeRequest, kind, idempotency_key, fingerprint,
                 at) -> Transaction:
    organization = account.organization
    require_credit_management(organization)
    priced = price(organization, request, at or timezone.now())
    funding = account.funding_account()
    attributed_to = account if funding.pk != account.pk else None
    params = {"account": account, "channel": request.channel, "quantity": request.quantity,
              "country": request.country, "recipient": request.recipient, "category": request.category,
              "traffic": request.traffic, "reference": request.reference, "hold": request.hold_id,
              "unit_price": request.unit_price, "amount": request.amount, "kind": kind}
    if uses_charge_function():
        if idempotency_key:
            check_key(idempotency_key)
        hold_id = hold_uuid(request.hold) if request.hold not in (None, "") else None
        return charge_in_database(actor=actor, account=account, funding=funding, attributed_to=attributed_to,
                                  priced=priced, kind=kind, hold_id=hold_id, key=idempotency_key,
                                  fingerprint=fingerprint or request_fingerprint("charge_create", params), at=at)

    def work():
        locked = lock_funding_account(funding.pk, "charge_create")
        book = Book(stamp(at), "charge_create")
        funds = Funds(locked, book, actor)
        hold = resolve_hold(request.hold, funding.pk)
        entry = apply_charge(book=book, funds=funds, attributed_to=attributed_to, priced=priced, hold=hold,
                             actor=actor, kind=kind)
        book.flush(locked)
        txn = entry.transaction
        txn.funding_account = locked
        return txn

    return run_idempotent(actor=actor, key=idempotency_key, operation="charge_create", params=params, work=work,
                          fingerprint=fingerprint)


def lock_funding_account(account_id, operation: str) -> Account:
    """Lock the funding account of a charge and publish the time it took (the lock-wait metric)."""
    started = time.perf_counter()
    locked = lock_account(account_id)
    publish_lock_wait(operation, time.perf_counter() - started)
    return locked


def charge_batch(*, actor: Actor, account: Account, items: Sequence[ChargeRequest], atomic: bool = False,
                 idempotency_key: str | None = None, fingerprint: str | None = None,
                 at: datetime | None = None) -> BatchResult:
    """Charge up to 1000 items in order on one account, locking it once and writing rows in bulk.

    With `atomic`, any failing item refuses the whole batch (the first error is raised).
    """
    if len(items) > MAX_BATCH:
        raise InvalidOperation(errors={"items": [f"At most {MAX_BATCH} items per batch."]})
    if not items:
        raise InvalidOperation(errors={"items": ["At least one item is required."]})
    organization = account.organization
    require_credit_management(organization)
    priced_at = at or timezone.now()
    priced: list[PricedCharge | LedgerError] = []
    prices: dict = {}
    for request in items:
        try:
            priced.append(price(organization, request, priced_at, prices))
        except LedgerError as error:
            if atomic:
                raise
            priced.append(error)
    funding = account.funding_account()
    attributed_to = account if funding.pk != account.pk else None
    params = {"account": account, "atomic": atomic,
              "items": [{k: (v.pk if isinstance(v, Hold) else v) for k, v in vars(r).items()} for r in items]}
    if uses_charge_function() and not all(isinstance(item, LedgerError) for item in priced):
        if idempotency_key:
            check_key(idempotency_key)
            fingerprint = fingerprint or request_fingerprint("charge_batch", params)
        return batch_in_database(actor=actor, account=account, funding=funding, attributed_to=attributed_to,
                                 priced=priced, atomic=atomic, key=idempotency_key or None,
                                 fingerprint=fingerprint if idempotency_key else None, at=at)

    def work():
        locked = lock_funding_account(funding.pk, "charge_batch")
        book = Book(stamp(at), "charge_batch")
        funds = Funds(locked, book, actor)
        results = []
        holds: dict = {}
        for item in priced:
            if isinstance(item, LedgerError):
                results.append(BatchItemResult(error=item))
                continue
            try:
                hold = None
                if item.request.hold:
                    key = str(item.request.hold_id)
                    if key not in holds:
                        holds[key] = resolve_hold(key, funding.pk)
                    hold = holds[key]
                entry = apply_charge(book=book, funds=funds, attributed_to=attributed_to, priced=item, hold=hold,
                                     actor=actor, kind=TransactionKind.CHARGE)
                results.append(BatchItemResult(transaction=entry.transaction))
            except LedgerError as error:
                publish_refusal("charge_batch", account.pk, error)
                if atomic:
                    raise
                results.append(BatchItemResult(error=error))
        book.flush(locked)
        for result in results:
            if result.transaction is not None:
                result.transaction.funding_account = locked
        return BatchResult(results)

    return run_idempotent(actor=actor, key=idempotency_key, operation="charge_batch", params=params, work=work,
                          fingerprint=fingerprint)
