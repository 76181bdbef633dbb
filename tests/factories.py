"""Factories for tests: orgs and accounts are made through the ledger services, users with factory_boy."""

from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from ledger import services
from ledger.models import Account

SYSTEM = services.SYSTEM


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password("pw")
    is_staff = True


def make_org(name="Acme", currency="INR", timezone_name="Asia/Kolkata", payment_scheme="prepaid",
             credit_limit="0", **kwargs):
    """An org with its master account, made by the service."""
    return services.organization_create(actor=SYSTEM, name=name, currency=currency, timezone_name=timezone_name,
                                        payment_scheme=payment_scheme, credit_limit=credit_limit, **kwargs)


def make_subaccount(org, name="Team", balance_mode="own", owner=None) -> Account:
    return services.account_create(actor=SYSTEM, organization=org, name=name, balance_mode=balance_mode, owner=owner)


def funded_account(amount="100", expires_in="6M", **org_kwargs) -> Account:
    """The master account of a new org, funded with one lot."""
    org = make_org(**org_kwargs)
    master = org.master_account
    if Decimal(amount) > 0:
        services.credits_grant(actor=SYSTEM, account=master, amount=amount, expires_in=expires_in)
        master.refresh_from_db()
    return master
