"""Fixtures of the payments tests: default limits and tax rules, the sandbox on, orgs to buy for."""

import importlib

import pytest
from django.apps import apps as django_apps

from ledger import selectors, services
from tests.admin.conftest import ensure_roles, user_with_role
from tests.factories import make_org, make_subaccount

defaults_migration = importlib.import_module("payments.migrations.0002_defaults_and_roles")

SANDBOX_SECRET = "test-sandbox-secret"
BILLING_KA = {"name": "Acme Retail Pvt Ltd", "address": "4 Brigade Road, Bengaluru", "country": "IN", "state": "KA"}
BILLING_MH = {"name": "Acme Retail Pvt Ltd", "address": "1 Marine Drive, Mumbai", "country": "IN", "state": "MH"}
BILLING_US = {"name": "Globex Inc", "address": "1 Main St, Springfield", "country": "US", "state": ""}
BASE_URL = "http://testserver/"


def ensure_payment_defaults():
    """Limits, tax rules and role permissions as the data migration makes them (flushed by transactional tests)."""
    ensure_roles()
    defaults_migration.ensure_defaults(django_apps)


@pytest.fixture(autouse=True)
def forget_cached_system_accounts():
    """Executed on-commit callbacks cache system account ids of rows the test's rollback removes."""
    yield
    services.forget_system_accounts()


@pytest.fixture(autouse=True)
def payments_settings(settings):
    settings.PAYMENTS_SANDBOX = True
    settings.SANDBOX_WEBHOOK_SECRET = SANDBOX_SECRET
    settings.STRIPE_SECRET_KEY = settings.STRIPE_WEBHOOK_SECRET = ""
    settings.RAZORPAY_KEY_ID = settings.RAZORPAY_KEY_SECRET = settings.RAZORPAY_WEBHOOK_SECRET = ""
    settings.BANK_TRANSFER_DETAILS = "Demo Bank, IFSC DEMO0000001, account 000111222333"
    settings.PAYMENT_ROUTES = "INR=razorpay,stripe,bank_transfer;*=stripe,bank_transfer"
    settings.PAYMENTS_SELLER = {**settings.PAYMENTS_SELLER, "code": "test", "state": "KA", "country": "IN",
                                "invoice_prefix": "CR", "financial_year_start_month": 0, "timezone": ""}
    return settings


@pytest.fixture
def defaults(db):
    ensure_payment_defaults()


@pytest.fixture
def org(defaults):
    """Acme (INR, Asia/Kolkata) with an own and a shared subaccount."""
    org = make_org(name="Acme Retail")
    make_subaccount(org, name="Marketing", balance_mode="own")
    make_subaccount(org, name="Support", balance_mode="shared")
    return org


@pytest.fixture
def usd_org(defaults):
    return make_org(name="Globex", currency="USD", timezone_name="America/New_York")


@pytest.fixture
def org_admin(org):
    user = user_with_role(selectors.ROLE_ORG_ADMIN, "orgadmin", email="admin@acme.example")
    org.admins.add(user)
    return user


@pytest.fixture
def buyer(org_admin):
    return services.Actor(user=org_admin)
