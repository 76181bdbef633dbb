"""Credits in and out by staff: grants (new lots) and removals (drawn like a charge)."""

from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from ..errors import InsufficientCredits, InvalidOperation
from ..locks import lock_account
from ..models import ZERO, Account, LotSource, SystemAccount, Transaction, TransactionKind
from ..money import Actor, money, to_amount
from .book import Book, stamp
from .idempotency import run_idempotent
from .limits import require_funds_holder
from .lots import DEFAULT_EXPIRES_IN, Funds, lot_expires_at

GRANT_SYSTEM_ACCOUNTS = {LotSource.GRANT: SystemAccount.Code.ISSUED, LotSource.PURCHASE: SystemAccount.Code.PURCHASES,
                         LotSource.REFUND: SystemAccount.Code.USAGE}


def credits_grant(*, actor: Actor, account: Account, amount: Decimal | str, expires_in: str = DEFAULT_EXPIRES_IN,
                  source: str = LotSource.GRANT, purchase_order: str = "", comment: str = "",
                  idempotency_key: str | None = None, at: datetime | None = None,
                  joins_caller: bool = False) -> Transaction:
    """Add credits to an account as a new lot; a negative balance is repaid from it first.

    Returns the grant transaction; `transaction.lot` is the new lot. With `joins_caller` it commits
    with the caller's open transaction (an approval: approvals.services).
    """
    amount = to_amount(amount)
    if source not in GRANT_SYSTEM_ACCOUNTS:
        raise InvalidOperation(errors={"source": ["Choose grant, purchase or refund."]})
    require_funds_holder(account)
    lot_expires_at(timezone.now(), expires_in, account.organization.tz)  # validates expires_in before locking

    def work():
        locked = lock_account(account.pk)
        book = Book(stamp(at), "credits_grant")
        expires_at = lot_expires_at(book.at, expires_in, locked.organization.tz)
        lot = Funds(locked, book, actor).receive(amount, expires_at=expires_at, source=source, actor=actor,
                                                 purchase_order=purchase_order, comment=comment)
        entry = book.add(account=locked, kind=source, amount=amount, signed=amount,
                         system_code=GRANT_SYSTEM_ACCOUNTS[source], actor=actor, lot=lot, reference=purchase_order,
                         memo=comment, metadata={"expires_in": expires_in})
        book.flush(locked)
        return entry.transaction

    return run_idempotent(actor=actor, key=idempotency_key, operation="credits_grant",
                          params={"account": account, "amount": amount, "expires_in": expires_in, "source": source,
                                  "purchase_order": purchase_order, "comment": comment}, work=work,
                          joins_caller=joins_caller)


def credits_remove(*, actor: Actor, account: Account, amount: Decimal | str, comment: str = "",
                   idempotency_key: str | None = None, at: datetime | None = None,
                   joins_caller: bool = False) -> Transaction:
    """Remove credits (not more than the positive balance), drawing lots like a charge (`joins_caller`: as above)."""
    amount = to_amount(amount)
    require_funds_holder(account)

    def work():
        locked = lock_account(account.pk)
        book = Book(stamp(at), "credits_remove")
        funds = Funds(locked, book, actor)
        removable = max(ZERO, locked.balance)
        if amount > removable:
            currency = locked.organization.currency
            raise InsufficientCredits(
                f"Cannot remove {money(amount, currency)}: the balance is {money(locked.balance, currency)}.",
                errors={"amount": [f"At most the positive balance ({money(removable, currency)}) can be removed."]},
            )
        funds.draw(amount)
        entry = book.add(account=locked, kind=TransactionKind.REMOVAL, amount=amount,
                         system_code=SystemAccount.Code.REMOVALS, actor=actor, memo=comment)
        book.flush(locked)
        return entry.transaction

    return run_idempotent(actor=actor, key=idempotency_key, operation="credits_remove",
                          params={"account": account, "amount": amount, "comment": comment}, work=work,
                          joins_caller=joins_caller)
