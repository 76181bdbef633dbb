"""Fixtures for the finance pages: an org with dated entries of every kind, and users of each role."""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, Permission
from django.utils import timezone

from ledger import services
from ledger.models import Account, Organization
from ledger.selectors import ROLE_FINANCE
from tests.factories import UserFactory, make_org, make_subaccount

SYSTEM = services.SYSTEM


def ledger_permissions(*codenames):
    return list(Permission.objects.filter(content_type__app_label="ledger", codename__in=codenames))


@dataclass
class Book:
    """The scenario: every entry at local noon of a day counted back from today (org timezone)."""

    org: Organization
    master: Account
    own: Account  # own-mode subaccount
    shared: Account  # shared-mode subaccount, owned by `sub_user`
    sub_user: object
    today: object  # the org's local date

    def day(self, days_ago: int):
        return self.today - timedelta(days=days_ago)


def local_noon(day, tz):
    return datetime.combine(day, time(12), tzinfo=tz)


@pytest.fixture
def book(db):
    """Master +1000 (PO-1), own sub +30 (1M), transfer 200 to it, charges sms/whatsapp/email, expiry, removal.

    Balances after: master 742.5, own subaccount 199, org 941.5.
    """
    org = make_org(name="Acme", currency="INR", timezone_name="Asia/Kolkata")
    tz = org.tz
    today = timezone.now().astimezone(tz).date()

    def at(days_ago):
        return local_noon(today - timedelta(days=days_ago), tz)

    master = org.master_account
    sub_user = UserFactory(username="subuser")
    own = make_subaccount(org, name="Marketing", balance_mode="own")
    shared = make_subaccount(org, name="Support", balance_mode="shared", owner=sub_user)
    services.credits_grant(actor=SYSTEM, account=master, amount="1000", source="purchase", purchase_order="PO-1",
                           comment="first top-up", at=at(50))
    services.credits_grant(actor=SYSTEM, account=own, amount="30", expires_in="1M", at=at(45))
    services.charge_create(actor=SYSTEM, account=master, channel="sms", quantity=10, country="IN",
                           unit_price="0.5", reference="camp-1", at=at(40))
    services.transfer_create(actor=SYSTEM, from_account=master, to_account=own, amount="200", comment="budget",
                             at=at(35))
    services.charge_create(actor=services.Actor(service="wa-gateway"), account=shared, channel="whatsapp",
                           quantity=2, country="IN", category="marketing", unit_price="1.25", at=at(20))
    assert services.lots_expire(at=at(14)) == 1
    services.charge_create(actor=SYSTEM, account=own, channel="email", quantity=4, unit_price="0.25", at=at(10))
    services.credits_remove(actor=SYSTEM, account=master, amount="50", comment="correction", at=at(5))
    for account in (master, own, shared):
        account.refresh_from_db()
    assert master.balance == Decimal("742.5") and own.balance == Decimal("199")
    return Book(org=org, master=master, own=own, shared=shared, sub_user=sub_user, today=today)


@pytest.fixture
def finance_user(db):
    """A user in the Finance role group, which may view and export ledgers."""
    group, _ = Group.objects.get_or_create(name=ROLE_FINANCE)
    group.permissions.add(*ledger_permissions("view_ledger", "export_ledger", "view_organization",
                                              "view_account", "view_transaction"))
    user = UserFactory(username="finance")
    user.groups.add(group)
    return user


@pytest.fixture
def org_admin(book):
    """An admin of the book's org with the ledger permissions given directly."""
    user = UserFactory(username="orgadmin")
    user.user_permissions.add(*ledger_permissions("view_ledger", "export_ledger"))
    book.org.admins.add(user)
    return user
