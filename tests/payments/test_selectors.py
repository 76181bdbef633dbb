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


def test_orgs_to_buy_for_are_exactly_those_with_a_purchasable_account():
    """The rule twice: as a query (orgs, header links) and per account (may_buy); the same answer for each pair."""
    from payments.selectors import may_buy, may_buy_in, purchasable_accounts

    admin = user_with_role(selectors.ROLE_ORG_ADMIN, "ada")
    owner = user_with_role(selectors.ROLE_SUBACCOUNT_USER, "otto")
    staff = user_with_role(selectors.ROLE_PLATFORM_STAFF, "pat")
    finance = user_with_role(selectors.ROLE_FINANCE, "fin")
    orgs = [make_org(name=name) for name in ("Administered", "Own funds", "Shared only", "Off", "Other")]
    orgs[0].admins.add(admin)
    for org in orgs[1:3]:
        services.organization_update(actor=services.SYSTEM, organization=org, individual_user_credits=True)
        org.refresh_from_db()
    make_subaccount(orgs[1], name="Own", owner=owner)
    make_subaccount(orgs[2], name="Shared", owner=owner, balance_mode="shared")  # not its own funds: no buying
    make_subaccount(orgs[3], name="Own but off", owner=owner)
    seen = {}
    for user in (admin, owner, staff, finance):
        listed = set(organizations_to_buy_for(user).values_list("pk", flat=True))
        for org in orgs:
            accounts = purchasable_accounts(user, org)
            assert (org.pk in listed) == bool(accounts) == may_buy_in(user, org), (user.username, org.name)
            assert all(may_buy(user, account) for account in accounts)
            assert not any(may_buy(user, account) for account in org.accounts.all() if account not in accounts)
            seen[user.username, org.name] = [account.name for account in accounts]
    assert seen["ada", "Administered"] == ["Master account"] and seen["otto", "Own funds"] == ["Own"]
    assert not seen["otto", "Shared only"] and not seen["otto", "Off"] and not seen["ada", "Other"]
