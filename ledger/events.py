"""Events the ledger publishes after a commit; other apps subscribe in their AppConfig.ready()."""

from django.dispatch import Signal

# Sent after the commit of a money operation with `account_ids`: the funding accounts whose balance, held
# amount or available credit changed. Receivers must be cheap (enqueue work); send_robust keeps them apart.
balances_changed = Signal()
