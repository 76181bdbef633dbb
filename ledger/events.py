"""Events the ledger publishes after a commit; other apps subscribe in their AppConfig.ready()."""

from django.dispatch import Signal

# Sent after the commit of a money operation with `account_ids`: the funding accounts whose balance, held
# amount or available credit changed. Receivers must be cheap (enqueue work); send_robust keeps them apart.
balances_changed = Signal()

# Sent after the commit of a money operation with `operation` (the service's name, e.g. "charge_create"),
# `idempotency_key` (the caller's key, or None) and `movements`: a list of ledger.services.book.Movement,
# one per transaction written (kind, amount, currency, channel, traffic, account, org, actor), or one per
# currency for a set-based expiry, with its count. For metrics and logs (ops): cheap receivers only.
money_moved = Signal()

# Sent when a money operation is refused by a rule (nothing was written), with `operation`, `account_id`
# and `error` (the LedgerError: its code says why). Sent at once: there is no commit to wait for.
money_refused = Signal()

# Sent on the charge path once the funding account's row lock is held, with `operation` and `seconds` (the
# time spent acquiring it). Sent at once, inside the transaction: receivers only record a number (ops).
lock_waited = Signal()
