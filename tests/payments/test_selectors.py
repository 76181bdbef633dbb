"""Who may buy credits for which orgs (payments.selectors)."""

import pytest

from ledger import selectors, services
from payments.selectors import organizations_to_buy_for
from tests.admin.conftest import user_with_role
from tests.factories import make_org, make_subaccount

pytestmark = pytest.mark.django_db


def test_orgs_to_buy_for_are_the_administered_ones_and_those_letting_an_owner_buy():
    admin = user_with_role(selectors.ROLE_ORG_ADMIN, "ada")
    owner = user_with_role(selectors.ROLE_SUBACCOUNT_USER, "otto")
    administered, letting, not_letting, both, other = (make_org(name=name) for name in
                                                       ("Administered", "Letting", "Not letting", "Both", "Other"))
    administered.admins.add(admin)
    both.admins.add(admin)
    for org in (letting, both):
        services.organization_update(actor=services.SYSTEM, organization=org, individual_user_credits=True)
    for org in (letting, not_letting, both):
        make_subaccount(org, name="Team", owner=owner)
    make_subaccount(both, name="Second team", owner=owner)  # two accounts in one org: the org once
    both.admins.add(owner)
    assert sorted(org.name for org in organizations_to_buy_for(admin)) == ["Administered", "Both"]
    assert sorted(org.name for org in organizations_to_buy_for(owner)) == ["Both", "Letting"]
    assert organizations_to_buy_for(user_with_role(selectors.ROLE_SUBACCOUNT_USER, "nobody")).count() == 0
