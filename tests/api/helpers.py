"""Helpers of the API tests: token clients, role users, session clients, a rate card."""

from decimal import Decimal

from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from apiauth.services import service_token_create
from ratecards.services import rate_card_version_create
from tests.factories import SYSTEM, UserFactory

SMS_RATES = [
    {"channel": "sms", "country": None, "category": None, "unit_price": "0.5"},
    {"channel": "sms", "country": "IN", "category": None, "unit_price": "0.1"},
    {"channel": "email", "country": None, "category": None, "unit_price": "0.01"},
]
_names = iter(range(10**9))


def token_client(scopes, name=None, **kwargs) -> APIClient:
    """An APIClient with a new service token of `scopes` (the token is on `client.token`).

    The token is for every org unless `organizations` are given.
    """
    kwargs.setdefault("all_organizations", not kwargs.get("organizations"))
    token, plain = service_token_create(name=name or f"svc-{next(_names)}", scopes=scopes, **kwargs)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    client.token, client.plain = token, plain
    return client


def with_rate_card(org, rates=None):
    rate_card_version_create(actor=SYSTEM, organization=org, rates=rates or SMS_RATES)
    return org


def role_user(role: str, **kwargs):
    user = UserFactory(**kwargs)
    user.groups.add(Group.objects.get(name=role))
    return user


def session_client(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def balance(account) -> Decimal:
    account.refresh_from_db()
    return account.balance
