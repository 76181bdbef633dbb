"""Shared fixtures. The suite runs on PostgreSQL; under CI it refuses to run on anything else."""

import os

import pytest
from django.db import connection


def pytest_configure(config):
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    if os.environ.get("CI") and engine not in ("django.db.backends.postgresql", "creditsite.db"):
        raise pytest.UsageError(f"CI must run the tests on PostgreSQL, not {engine}: set DATABASE_URL.")


@pytest.fixture(autouse=True)
def _system_account_ids_forgotten():
    """On-commit callbacks a test executes cache ids of system accounts its rollback then removes: forget them."""
    yield
    from ledger.services import forget_system_accounts  # Django is set up only once the session starts

    forget_system_accounts()


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")


MONEY_PATHS = ["database", "python"]


@pytest.fixture(params=MONEY_PATHS)
def money_path(request, settings):
    """Run the test once per implementation of the money rules: the database path (ledger_charge(), the
    set-based expiry), then the Python path. On SQLite only the Python path exists."""
    if request.param == "database" and connection.vendor != "postgresql":
        pytest.skip("the database path is PostgreSQL's")
    settings.LEDGER_MONEY_PATH = request.param
    return request.param


@pytest.fixture
def staff_actor(django_user_model):
    from ledger.services import Actor

    user = django_user_model.objects.create_user("staff", "staff@example.com", "pw", is_staff=True, is_superuser=True)
    return Actor(user=user)


@pytest.fixture
def service_actor():
    from ledger.services import Actor

    return Actor(service="campaign-engine")
