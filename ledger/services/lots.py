"""Lots: when a grant expires, the locked lots of a funding account, drawing them and adding new ones."""

from datetime import datetime
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.utils import timezone

from ..errors import InvalidOperation
from ..locks import lock_active_lots
from ..models import ZERO, Account, CreditLot, ExpiresIn, SystemAccount, TransactionKind
from ..money import Actor
from .book import Book

EXPIRY_MONTHS = {"1M": 1, "2M": 2, "3M": 3, "6M": 6, "1Y": 12}
DEFAULT_EXPIRES_IN = ExpiresIn.SIX_MONTHS


def lot_expires_at(granted_at: datetime, expires_in: str, tz) -> datetime | None:
    """The expiry of a lot granted at `granted_at`: months counted in the org's timezone, month-end clamped."""
    if expires_in == ExpiresIn.NEVER:
        return None
    if expires_in not in EXPIRY_MONTHS:
        raise InvalidOperation(errors={"expires_in": [f"Choose one of {', '.join(ExpiresIn.values)}."]})
    local = granted_at.astimezone(tz)
    return (local + relativedelta(months=EXPIRY_MONTHS[expires_in])).astimezone(timezone.UTC)


def expire_lot(book: Book, account: Account, lot: CreditLot, actor: Actor) -> None:
    """A lot past its expiry loses what it has left in an expiry transaction."""
    amount = lot.remaining
    lot.remaining = ZERO
    book.lot_changed(lot)
    book.add(account=account, kind=TransactionKind.EXPIRY, amount=amount, system_code=SystemAccount.Code.EXPIRED,
             actor=actor, lot=lot, memo=f"Lot {lot.pk} expired")


class Funds:
    """The locked state of one funding account: its lots in draw order, with due lots expired first."""

    def __init__(self, account: Account, book: Book, actor: Actor):
        self.account = account
        self.book = book
        lots = lock_active_lots(account)
        self.lots = [lot for lot in lots if lot.expires_at is None or lot.expires_at > book.at]
        for lot in lots:
            if lot.expires_at is not None and lot.expires_at <= book.at:
                expire_lot(book, account, lot, actor)

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
                        purchase_order=purchase_order, comment=comment, transferred_from=transferred_from,
                        **actor.creator_fields())
        self.book.new_lots.append(lot)
        return lot
