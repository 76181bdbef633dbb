"""A world with every kind of row, for the tests that walk every admin and finance page as each role."""

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import AccountThreshold, WebhookDelivery, WebhookEndpoint
from alerts.services import account_alerts_check, alert_settings_get_or_create
from apiauth.services import service_token_create
from ledger import services
from ratecards.services import rate_card_version_create
from tests.admin.conftest import user_with_role
from tests.factories import UserFactory, make_org, make_subaccount

SYSTEM = services.SYSTEM


@dataclass
class World:
    orgs: list
    accounts: list
    users: dict = field(default_factory=dict)


@pytest.fixture
def world(db) -> World:
    """Acme (INR, prepaid), Globex (USD, postpaid, below zero) and Kaisha (JPY): amounts with six decimals
    everywhere (charges at fractional prices), lots, an expiry, holds, limits, alerts, rate cards, webhooks."""
    now = timezone.now()
    staff = user_with_role("Platform staff", "pat")
    actor = services.Actor(user=staff)
    acme = make_org(name="Acme")
    owner = user_with_role("Subaccount user", "sub")
    marketing = make_subaccount(acme, name="Marketing", owner=owner)
    make_subaccount(acme, name="Support", balance_mode="shared")
    globex = make_org(name="Globex", currency="USD", timezone_name="America/New_York", payment_scheme="postpaid",
                      credit_limit="20000")
    kaisha = make_org(name="Kaisha", currency="JPY", timezone_name="Asia/Tokyo")
    rates = [{"channel": "sms", "country": None, "category": None, "unit_price": "0.0079"},
             {"channel": "whatsapp", "country": None, "category": "marketing", "unit_price": "0.8815"}]
    for org in (acme, globex, kaisha):
        rate_card_version_create(actor=actor, organization=org, rates=rates)
        rate_card_version_create(actor=actor, organization=org, rates=[{**rates[0], "unit_price": "0.0081"}])
    services.credits_grant(actor=actor, account=acme.master_account, amount="1000.123456", expires_in="6M",
                           purchase_order="PO-1", comment="first")
    services.credits_grant(actor=actor, account=marketing, amount="300", expires_in="1M", purchase_order="PO-2",
                           at=now - timedelta(days=40))
    services.lots_expire(at=now)
    services.credits_grant(actor=actor, account=marketing, amount="77.777777", expires_in="1M")
    services.charge_create(actor=services.Actor(service="campaign-engine"), account=acme.master_account,
                           channel="sms", quantity=1234, traffic="transactional")
    services.charge_create(actor=SYSTEM, account=marketing, channel="whatsapp", category="marketing", quantity=7,
                           traffic="transactional")
    services.credits_remove(actor=actor, account=acme.master_account, amount="0.5", comment="rounding")
    services.transfer_create(actor=actor, from_account=acme.master_account, to_account=marketing,
                             amount="12.345678", comment="budget")
    services.credit_limit_set(actor=actor, account=acme.master_account, amount="250.555", temporary_days=3,
                              comment="peak")
    services.hold_create(actor=services.Actor(service="campaign-engine"), account=acme.master_account,
                         amount="33.333333", reference="blast")
    services.charge_create(actor=SYSTEM, account=globex.master_account, channel="sms", quantity=1,
                           unit_price="12200.8365", traffic="transactional")
    services.credits_grant(actor=actor, account=kaisha.master_account, amount="1234.5")
    services.charge_create(actor=SYSTEM, account=kaisha.master_account, channel="sms", quantity=999,
                           traffic="transactional")
    for org in (acme, globex, kaisha):
        alert_settings_get_or_create(organization=org)
    AccountThreshold.objects.create(account=marketing, low_credit_threshold="500.5")
    for account in (acme.master_account, marketing, globex.master_account, kaisha.master_account):
        account_alerts_check(account_id=account.pk)
    endpoint = WebhookEndpoint.objects.create(organization=acme, url="https://hooks.example.com/credits",
                                              events=["balance.low"])
    WebhookDelivery.objects.create(endpoint=endpoint, event="balance.low", payload={"balance": "12.345678"})
    service_token_create(name="campaign-engine", scopes=["charge"], organizations=[acme])
    org_admin = user_with_role("Org admin", "oa")
    acme.admins.add(org_admin)
    users = {"superuser": UserFactory(username="root", is_superuser=True), "staff": staff,
             "finance": user_with_role("Finance", "fin"), "org_admin": org_admin, "subaccount": owner}
    accounts = [account for org in (acme, globex, kaisha) for account in org.accounts.all()]
    return World(orgs=[acme, globex, kaisha], accounts=accounts, users=users)
