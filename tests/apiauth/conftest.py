"""Fixtures of the service-token tests: the API tests' clients and accounts."""

from tests.api.conftest import account, anon_client, charge_client, manage_client, other_account, read_client

__all__ = ["account", "anon_client", "charge_client", "manage_client", "other_account", "read_client"]
