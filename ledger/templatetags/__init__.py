"""Template tags of the ledger app."""
