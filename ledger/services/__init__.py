"""The only code that moves money, one module per concern.

Every operation runs in one atomic block, locks the accounts it touches (in primary-key order,
ledger.locks), honours an optional idempotency key per caller (idempotency), and writes balanced
transactions whose customer postings carry `balance_after` (book, writer). The admin, the API, the
tasks and the management commands call these functions; nothing else writes lots, transactions,
postings, holds or cached balances. After the commit the ledger publishes its events (ledger.events).

    organizations  organization_create, organization_update, account_create
    credits        credits_grant, credits_remove
    charges        charge_create, charge_batch, hold_capture (charge_function: the PostgreSQL path)
    holds          hold_create, hold_release, holds_expire
    transfers      transfer_create
    limits         credit_limit_set, credit_limits_expire (and the postpaid rule)
    expiry         lots_expire
    month_close    postpaid_month_close, billing_period
    purchases      purchase_settle, invoice_payment_record (bought credits; the payments app calls them)
    rules          what a charge or hold must pass; lots: drawing and expiring lots
"""

from ..locks import lock_account, lock_accounts
from ..money import SYSTEM, Actor, charge_amount, to_amount
from .book import Book, Entry, forget_system_accounts, stamp, system_account
from .charges import (
    ChargeRequest,
    PricedCharge,
    charge_batch,
    charge_create,
    hold_capture,
    uses_charge_function,
)
from .credits import credits_grant, credits_remove
from .expiry import lots_expire
from .holds import hold_create, hold_release, holds_expire
from .idempotency import check_key, claim_key, idempotency_keys_purge, request_fingerprint, run_idempotent
from .limits import credit_limit_set, credit_limits_expire
from .lots import DEFAULT_EXPIRES_IN, EXPIRY_MONTHS, Funds, lot_expires_at
from .month_close import billing_period, month_close_due, postpaid_month_close
from .organizations import account_create, organization_create, organization_update
from .purchases import invoice_outstanding, invoice_payment_record, purchase_settle
from .results import BatchItemResult, BatchResult
from .transfers import transfer_create

# Names these had when ledger.services was one module (other branches use them; they may switch to the new ones).
_Book, _Funds, _Entry, _check_key, _claim_key = Book, Funds, Entry, check_key, claim_key

__all__ = [
    "Actor", "BatchItemResult", "BatchResult", "Book", "ChargeRequest", "DEFAULT_EXPIRES_IN", "EXPIRY_MONTHS",
    "Entry", "Funds", "PricedCharge", "SYSTEM", "account_create", "billing_period", "charge_amount", "check_key", "claim_key",
    "charge_batch", "charge_create", "credit_limit_set", "credit_limits_expire", "credits_grant",
    "credits_remove", "forget_system_accounts", "hold_capture", "hold_create", "hold_release", "holds_expire",
    "idempotency_keys_purge", "invoice_outstanding", "invoice_payment_record", "lock_account",
    "lock_accounts", "lot_expires_at", "lots_expire", "month_close_due", "organization_create",
    "organization_update", "postpaid_month_close", "purchase_settle", "request_fingerprint", "run_idempotent",
    "stamp", "system_account", "to_amount", "transfer_create", "uses_charge_function",
]
