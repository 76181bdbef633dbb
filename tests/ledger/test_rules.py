"""Rules with one home, checked where a second form of them exists (an SQL expression, a queryset)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from ledger import services
from ledger.models import Account, available_expression, effective_limit_expression
from ledger.selectors import organization_openable_by, organizations_for, organizations_openable_by
from tests.factories import SYSTEM, UserFactory, funded_account, make_org, make_subaccount

pytestmark = pytest.mark.django_db


def test_available_in_sql_is_available_in_python():
    master = funded_account("100")
    services.credit_limit_set(actor=SYSTEM, account=master, amount="20")
    services.credit_limit_set(actor=SYSTEM, account=master, amount="50", temporary_days=2)
    services.hold_create(actor=SYSTEM, account=master, amount="30")
    master.refresh_from_db()
    now = timezone.now()
    for at in (now, now + timedelta(days=3)):
        row = Account.objects.annotate(limit=effective_limit_expression(at=at),
                                       available=available_expression(at=at)).get(pk=master.pk)
        assert (row.limit, row.available) == (master.effective_credit_limit(at), master.available(at))
    assert master.available(now) == Decimal("120") and master.available(now + timedelta(days=3)) == Decimal("90")


def test_the_funding_account_of_a_shared_subaccount_is_the_master():
    org = make_org()
    own, shared = make_subaccount(org, "Own"), make_subaccount(org, "Shared", balance_mode="shared")
    assert own.funding_account() is own
    assert shared.funding_account().pk == org.master_account.pk


def test_org_admins_open_their_orgs_and_subaccount_users_only_see_theirs():
    org, other = make_org("Mine"), make_org("Other")
    admin, owner = UserFactory(username="admin-of-mine"), UserFactory(username="owner-of-sub")
    org.admins.add(admin)
    make_subaccount(org, "Personal", owner=owner)
    assert list(organizations_openable_by(admin)) == [org]
    assert list(organizations_openable_by(owner)) == [] and list(organizations_for(owner)) == [org]
    superuser = UserFactory(username="root", is_superuser=True)
    assert set(organizations_openable_by(superuser)) == {org, other}
    # the one-org form (the org dashboard's) agrees with the queryset for every user and org
    for user in (admin, owner, superuser):
        for candidate in (org, other):
            assert organization_openable_by(user, candidate) == organizations_openable_by(user).filter(
                pk=candidate.pk).exists(), (user.username, candidate.name)
