"""Approvals (maker-checker): money actions above a per-currency threshold wait for a second person."""
