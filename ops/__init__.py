"""What the engineer on call sees: metrics, request logs, error reports, ledger check runs, admin sign-in hardening."""
