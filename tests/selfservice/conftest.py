"""Fixtures of the self-service tests: the console's role fixtures, an org with individual user credits on."""

import pytest

from ledger import selectors, services
from tests.admin.conftest import (  # noqa: F401 - fixtures reused here
    ensure_roles,
    login,
    org,
    org_admin_client,
    org_admin_user,
    other_org,
    staff_client,
    staff_user,
    user_with_role,
)
from tests.factories import make_subaccount


@pytest.fixture
def individual_org(org):  # noqa: F811 - the console's org fixture
    """Acme with individual user credits on: Marketing (own funds, 100 credits) belongs to `alice`."""
    services.organization_update(actor=services.SYSTEM, organization=org, individual_user_credits=True,
                                 transfer_conditions="Credits moved are final.\nNo refunds.")
    marketing = org.accounts.get(name="Marketing")
    services.transfer_create(actor=services.SYSTEM, from_account=org.master_account, to_account=marketing,
                             amount="100")
    org.refresh_from_db()
    return org


@pytest.fixture
def alice(individual_org):
    user = user_with_role(selectors.ROLE_SUBACCOUNT_USER, "alice")
    marketing = individual_org.accounts.get(name="Marketing")
    marketing.owner = user
    marketing.save(update_fields=["owner"])
    return user


@pytest.fixture
def bob_account(individual_org):
    """Another user's subaccount of the org (Sales, owned by bob, holding its own funds)."""
    bob = user_with_role(selectors.ROLE_SUBACCOUNT_USER, "bob")
    return make_subaccount(individual_org, name="Sales", owner=bob)
