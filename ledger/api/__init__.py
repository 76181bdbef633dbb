"""HTTP API of the ledger app: serializers, views and URLs."""
