"""Ledger: orgs, accounts, credit lots, the double-entry ledger, holds, limits and transfers."""
