"""Holds: credits reserved for a scheduled campaign; released, captured by charges, or expired."""

from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from ..errors import HoldNotActive, InvalidOperation
from ..locks import lock_account, lock_due_holds, lock_hold
from ..models import Account, Hold, HoldStatus
from ..money import Actor, to_amount
from .book import Book, publish_refusal, save_account, stamp
from .idempotency import run_idempotent
from .lots import Funds
from .rules import hold_refusal, require_credit_management

MIN_HOLD_SECONDS, MAX_HOLD_SECONDS = 60, 90 * 86400


def hold_create(*, actor: Actor, account: Account, amount: Decimal | str, expires_in_seconds: int = 86400,
                reference: str = "", idempotency_key: str | None = None, fingerprint: str | None = None,
                at: datetime | None = None) -> Hold:
    """Reserve credits for a scheduled campaign; refused unless available covers it."""
    amount = to_amount(amount)
    if isinstance(expires_in_seconds, bool) or not isinstance(expires_in_seconds, int) or not (
            MIN_HOLD_SECONDS <= expires_in_seconds <= MAX_HOLD_SECONDS):
        raise InvalidOperation(errors={"expires_in_seconds": ["Between 60 seconds and 90 days."]})
    require_credit_management(account.organization)
    funding = account.funding_account()

    def work():
        locked = lock_account(funding.pk)
        book = Book(stamp(at), "hold_create")
        Funds(locked, book, actor)  # expire due lots first so available is exact
        refusal = hold_refusal(organization=locked.organization, amount=amount,
                               available=locked.available(book.at))
        if refusal is not None:
            publish_refusal("hold_create", account.pk, refusal)
            raise refusal
        locked.held += amount
        hold = Hold.objects.create(account=locked, subaccount=account if account.pk != funding.pk else None,
                                   amount=amount, remaining=amount,
                                   expires_at=book.at + timedelta(seconds=expires_in_seconds), reference=reference,
                                   created_at=book.at, **actor.creator_fields())
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
        current = lock_hold(hold.pk)
        if current.status != HoldStatus.ACTIVE:
            raise HoldNotActive(f"The hold is {current.status}.")
        if current.expires_at <= at:
            raise HoldNotActive("The hold has expired.")
        close_hold(locked, current, HoldStatus.RELEASED, at)
        save_account(locked, "hold_release")
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
        hold = lock_hold(hold_id)
        if hold.status == HoldStatus.ACTIVE:
            close_hold(locked, hold, HoldStatus.EXPIRED, hold.expires_at)
            save_account(locked, "holds_expire")


def close_hold(account: Account, hold: Hold, status: str, at: datetime) -> None:
    """Close a hold (released or expired): what it had left is no longer held on its (locked) account."""
    account.held -= hold.remaining
    hold.status, hold.closed_at = status, at
    hold.save(update_fields=["status", "closed_at"])


def holds_expire(*, at: datetime | None = None) -> int:
    """Mark active holds past their expiry as expired and free what they had left."""
    at = at or timezone.now()
    due = Hold.objects.filter(status=HoldStatus.ACTIVE, expires_at__lte=at)
    count = 0
    for account_id in sorted(set(due.order_by().values_list("account_id", flat=True).distinct()), key=str):
        with transaction.atomic(durable=True):
            locked = lock_account(account_id)
            for hold in lock_due_holds(locked, at):
                close_hold(locked, hold, HoldStatus.EXPIRED, hold.expires_at)
                count += 1
            save_account(locked, "holds_expire")
    return count
