"""What an account's ledger holds, as plain values without ids: for comparing two accounts row by row."""

import re

from ledger.models import Account, CreditLot, Hold, Posting, Transaction

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def account_rows(account: Account, hold_ids: list) -> dict:
    """The account, its lots, holds, transactions and postings in the order they were written, ids replaced
    by positions (lot n, hold n) so that two accounts that went through the same operations compare equal."""
    account = Account.objects.get(pk=account.pk)
    lots = list(CreditLot.objects.filter(account=account).order_by("pk"))
    lot_index = {lot.pk: index for index, lot in enumerate(lots)}
    hold_index = {hold_id: index for index, hold_id in enumerate(hold_ids)}
    holds = Hold.objects.in_bulk(hold_ids)
    transactions = list(Transaction.objects.filter(account=account).order_by("pk"))
    postings: dict = {}
    for posting in Posting.objects.filter(transaction__in=transactions).select_related("system_account").order_by(
            "pk"):
        postings.setdefault(posting.transaction_id, []).append(
            (posting.amount, posting.balance_after, posting.account_id is not None,
             posting.system_account.code if posting.system_account_id else None))
    return {
        "account": (account.balance, account.held, account.credit_limit, account.temporary_credit_limit,
                    account.temporary_credit_limit_expires_at),
        "lots": [(lot.amount, lot.remaining, lot.granted_at, lot.expires_at, lot.source,
                  lot_index.get(lot.transferred_from_id)) for lot in lots],
        "holds": [(hold.amount, hold.remaining, hold.status, hold.expires_at, hold.closed_at,
                   hold.subaccount_id is not None) for hold in (holds[pk] for pk in hold_ids)],
        "transactions": [
            (txn.kind, txn.amount, txn.currency, txn.created_at, txn.actor_user_id, txn.actor_service, txn.reference,
             re.sub(r"Lot \d+", lambda m: f"Lot #{lot_index[int(m.group(0)[4:])]}", txn.memo), txn.channel,
             txn.country, txn.category, txn.traffic, txn.quantity, txn.unit_price, txn.rate_card_version_id,
             txn.subaccount_id is not None, hold_index.get(txn.hold_id), lot_index.get(txn.lot_id), txn.period,
             txn.metadata, postings.get(txn.pk))
            for txn in transactions],
    }


def without_ids(text: str, hold_ids: list) -> str:
    """An error message with hold ids replaced by their positions."""
    positions = {str(hold_id): f"hold #{index}" for index, hold_id in enumerate(hold_ids)}
    return UUID.sub(lambda m: positions.get(m.group(0), "<id>"), text)
