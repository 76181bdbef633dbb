"""Fixtures of the staff console tests: one logged-in client per role, orgs made through the services."""

import importlib

import pytest
from django.contrib.auth.models import Group, Permission

from ledger import selectors, services
from tests.factories import UserFactory, make_org, make_subaccount

roles_migration = importlib.import_module("ledger.migrations.0005_roles")
self_service_migration = importlib.import_module("ledger.migrations.0024_self_service")
LATER_GRANTS = {  # ledger.migrations.0021_spending_policy, then 0024_self_service (manage_credits split in two)
    "Platform staff": [("ledger", "set_spending_policy"), ("ledger", "add_credits"), ("ledger", "remove_credits")],
    **self_service_migration.GRANTS,
}


def ensure_roles():
    """The role groups as the data migrations make them (transactional tests flush them away).

    Every permission is read in one query and each group completed in one `add`: most tests make users
    with roles, and a query per permission (about 250) made this a third of such a test's time."""
    permissions = {(p.content_type.app_label, p.codename): p
                   for p in Permission.objects.select_related("content_type")}
    for name in [*roles_migration.ROLE_PERMISSIONS, *LATER_GRANTS]:
        wanted = [*roles_migration.ROLE_PERMISSIONS.get(name, []), *LATER_GRANTS.get(name, [])]
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*[permissions[key] for key in wanted if key in permissions])


def user_with_role(role, username, **kwargs):
    """An is_staff user in one role group."""
    ensure_roles()
    user = UserFactory(username=username, **kwargs)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def org(db):
    """Acme (INR) with 1,000 credits on its master account and an own and a shared subaccount."""
    org = make_org(name="Acme Messaging")
    services.credits_grant(actor=services.SYSTEM, account=org.master_account, amount="1000", expires_in="6M")
    make_subaccount(org, name="Marketing", balance_mode="own")
    make_subaccount(org, name="Support", balance_mode="shared")
    return org


@pytest.fixture
def other_org(db):
    org = make_org(name="Globex", currency="USD", timezone_name="UTC")
    services.credits_grant(actor=services.SYSTEM, account=org.master_account, amount="50", expires_in="never")
    return org


@pytest.fixture
def staff_user(db):
    return user_with_role(selectors.ROLE_PLATFORM_STAFF, "pat-staff")


@pytest.fixture
def finance_user(db):
    return user_with_role(selectors.ROLE_FINANCE, "fin")


@pytest.fixture
def org_admin_user(db, org):
    user = user_with_role(selectors.ROLE_ORG_ADMIN, "orgadmin")
    org.admins.add(user)
    return user


@pytest.fixture
def sub_user(db, org):
    user = user_with_role(selectors.ROLE_SUBACCOUNT_USER, "subuser")
    account = org.accounts.get(name="Marketing")
    account.owner = user
    account.save(update_fields=["owner"])
    return user


def login(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def staff_client(client, staff_user):
    return login(client, staff_user)


@pytest.fixture
def finance_client(client, finance_user):
    return login(client, finance_user)


@pytest.fixture
def org_admin_client(client, org_admin_user):
    return login(client, org_admin_user)


@pytest.fixture
def sub_client(client, sub_user):
    return login(client, sub_user)
