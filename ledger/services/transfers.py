"""Transfers: credits move between two fund-holding accounts of one org and keep their expiry."""

from datetime import datetime
from decimal import Decimal

from ..errors import InsufficientCredits, InvalidOperation, TransferNotAllowed
from ..locks import lock_accounts
from ..models import ZERO, Account, BalanceMode, LotSource, Posting, Transaction, TransactionKind
from ..money import Actor, money, to_amount
from .book import Book, Entry, stamp
from .idempotency import run_idempotent
from .lots import Funds
from .rules import require_credit_management


def transferable(sender: Account, at: datetime) -> Decimal:
    """What may leave an account: at most its positive balance, and at most its available (holds stay reserved)."""
    return min(max(ZERO, sender.balance), max(ZERO, sender.available(at)))


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
    require_credit_management(from_account.organization)

    def work():
        locked = lock_accounts([from_account.pk, to_account.pk])
        sender, receiver = locked[from_account.pk], locked[to_account.pk]
        book = Book(stamp(at), "transfer_create")
        moment = book.at
        sender_funds = Funds(sender, book, actor)
        receiver_funds = Funds(receiver, book, actor)
        limit = transferable(sender, moment)
        if amount > limit:
            currency = sender.organization.currency
            raise InsufficientCredits(
                f"Cannot transfer {money(amount, currency)}: at most {money(limit, currency)} can leave {sender.name}.",
                errors={"amount": [f"At most {money(limit, currency)} can be transferred."]})
        for lot, take in sender_funds.draw(amount):
            receiver_funds.receive(take, expires_at=lot.expires_at, granted_at=lot.granted_at,
                                   source=LotSource.TRANSFER, actor=actor, comment=comment, transferred_from=lot)
            receiver.balance += take  # each moved portion repays the receiver's debt before the next
        sender.balance -= amount
        txn = Transaction(organization_id=sender.organization_id, account=sender, kind=TransactionKind.TRANSFER,
                          currency=sender.organization.currency, amount=amount, created_at=moment, memo=comment,
                          metadata={"to_account": str(receiver.pk)}, **actor.actor_fields())
        book.entries.append(Entry(txn, [
            Posting(account=sender, amount=-amount, balance_after=sender.balance, created_at=moment),
            Posting(account=receiver, amount=amount, balance_after=receiver.balance, created_at=moment),
        ]))
        book.flush(sender, receiver)
        return txn

    return run_idempotent(actor=actor, key=idempotency_key, operation="transfer_create", fingerprint=fingerprint,
                          params={"from": from_account, "to": to_account, "amount": amount, "comment": comment},
                          work=work)
