"""Entry points the ledger calls after a commit that changed balances (alert checks, webhooks)."""


def balances_changed(account_ids: list) -> None:
    """Called after commit with the funding accounts whose balance or available changed.

    Must be cheap: it enqueues work (debounced), it never sends email inline.
    """
