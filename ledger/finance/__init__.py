"""Finance pages: ledgers, reports, CSV exports and print views (server-rendered, read-only)."""
