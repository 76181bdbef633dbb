"""Fixtures of the approvals tests: the console's role users and orgs, approvals roles, a threshold helper."""

import importlib
from decimal import Decimal

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group

from approvals.models import ApprovalThreshold
from tests.admin.conftest import (  # noqa: F401 - fixtures shared with the console tests
    ensure_roles,
    login,
    org,
    org_admin_user,
    other_org,
    staff_user,
    user_with_role,
)

approvals_roles = importlib.import_module("approvals.migrations.0002_roles")


def ensure_approval_roles():
    """The role groups with their ledger and approvals permissions (transactional tests flush them away)."""
    ensure_roles()
    approvals_roles.ensure_roles(django_apps)


def staff(username):
    """Another platform staff user (add_credits, remove_credits, set_credit_limit)."""
    ensure_approval_roles()
    return user_with_role("Platform staff", username)


def threshold(currency, amount):
    """Turn approvals on in a currency above `amount` (None: a row with approvals off)."""
    return ApprovalThreshold.objects.update_or_create(
        currency=currency, defaults={"amount": Decimal(amount) if amount is not None else None})[0]


@pytest.fixture
def maker(db):
    return staff("maker")


@pytest.fixture
def checker(db):
    return staff("checker")


@pytest.fixture
def group_names():
    return set(Group.objects.values_list("name", flat=True))
