"""Fixtures of the service tests: a sound ledger after every test (`money_path` is in tests/conftest.py)."""

import pytest

from ledger.invariants import check_invariants


@pytest.fixture(autouse=True)
def _sound_ledger_after_each_test(request):
    yield
    if "db" in request.fixturenames or request.node.get_closest_marker("django_db"):
        assert check_invariants() == []
