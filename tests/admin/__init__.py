"""Tests of the staff console (Django admin)."""
