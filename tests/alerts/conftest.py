"""Fixtures of the alerts and jobs suite: a clean cache (debounce keys, job locks) per test."""

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def clean_cache():
    cache.clear()
    yield
    cache.clear()
