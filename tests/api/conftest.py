"""Fixtures of the API tests: token clients per scope, funded accounts with a rate card."""

import pytest
from rest_framework.test import APIClient

from ledger.models import Account
from tests.factories import funded_account

from .helpers import token_client, with_rate_card


@pytest.fixture
def manage_client(db):
    return token_client(["manage"], name="provisioning")


@pytest.fixture
def charge_client(db):
    return token_client(["charge"], name="campaign-engine")


@pytest.fixture
def read_client(db):
    return token_client(["read"], name="dashboard")


@pytest.fixture
def anon_client():
    return APIClient()


@pytest.fixture
def account(db) -> Account:
    """A funded (100 INR) master account of an org with an SMS/email rate card."""
    master = funded_account("100")
    with_rate_card(master.organization)
    return master


@pytest.fixture
def other_account(db) -> Account:
    """The funded (50 INR) master account of another org, with a rate card."""
    master = funded_account("50", name="Other Org")
    with_rate_card(master.organization)
    return master
