"""Tenant isolation: a token limited to org A gets 404 for every object of org B, on every endpoint.

The cases are keyed by URL name and the test walks the API's URLconf, so a new endpoint without a
case here (and without scoping) fails.
"""

import json
import uuid
from dataclasses import dataclass

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from ledger import services
from ledger.models import Account, Hold, Organization, Transaction
from payments.models import TopUp
from ratecards.models import RateCardVersion
from tests.api.helpers import token_client, with_rate_card
from tests.factories import SYSTEM, funded_account, make_subaccount
from tests.payments.conftest import BILLING_KA, ensure_payment_defaults
from tests.payments.helpers import start_top_up

pytestmark = pytest.mark.django_db

# Endpoints that hold no org's data (provider webhooks are authenticated by the provider's signature).
NOT_ORG_SCOPED = {"api-channels", "api-schema", "api-docs", "api-payment-webhook"}


@dataclass
class Tenant:
    org: Organization
    master: Account
    sub: Account
    hold: Hold
    top_up: TopUp


def _tenant(name: str) -> Tenant:
    master = funded_account("100", name=name)
    with_rate_card(master.organization)
    sub = make_subaccount(master.organization, name=f"{name} team")
    hold = services.hold_create(actor=SYSTEM, account=master, amount="5")
    top_up = start_top_up(master)
    return Tenant(org=master.organization, master=master, sub=sub, hold=hold, top_up=top_up)


def _requests(own: Tenant, target: Tenant) -> dict[str, list[tuple[str, str, dict | None]]]:
    """Per URL name, the requests a token of `own` makes against `target`'s objects (method, path, body)."""
    org, master, sub, hold = f"{target.org.pk}", f"{target.master.pk}", f"{target.sub.pk}", f"{target.hold.pk}"
    top_up = f"{target.top_up.pk}"
    charge = {"channel": "sms", "country": "IN", "traffic": "transactional"}
    return {
        "api-organization": [("GET", f"organizations/{org}", None), ("PATCH", f"organizations/{org}", {"name": "X"})],
        "api-organization-accounts": [("GET", f"organizations/{org}/accounts", None),
                                      ("POST", f"organizations/{org}/accounts", {"name": "Sneaky"})],
        "api-account": [("GET", f"accounts/{master}", None), ("GET", f"accounts/{sub}", None)],
        "api-account-credit-limit": [("PUT", f"accounts/{master}/credit-limit", {"amount": "500"})],
        "api-account-credits": [("POST", f"accounts/{master}/credits", {"amount": "7"})],
        "api-account-removals": [("POST", f"accounts/{master}/removals", {"amount": "1"})],
        "api-account-lots": [("GET", f"accounts/{master}/lots", None)],
        "api-account-ledger": [("GET", f"accounts/{master}/ledger", None),
                               ("GET", f"accounts/{master}/ledger?format=csv", None)],
        "api-account-ledger-csv": [("GET", f"accounts/{master}/ledger.csv", None)],
        "api-transfers": [("POST", "transfers", {"from_account": master, "to_account": sub, "amount": "1"}),
                          ("POST", "transfers", {"from_account": f"{own.master.pk}", "to_account": master,
                                                 "amount": "1"}),
                          ("POST", "transfers", {"from_account": master, "to_account": f"{own.sub.pk}",
                                                 "amount": "1"})],
        "api-charges": [("POST", "charges", {"account": master, **charge}),
                        ("POST", "charges", {"account": master, "hold": hold, **charge})],
        "api-charges-batch": [("POST", "charges/batch", {"account": master, "items": [charge]})],
        "api-holds": [("POST", "holds", {"account": master, "amount": "1"})],
        "api-hold": [("GET", f"holds/{hold}", None)],
        "api-hold-release": [("POST", f"holds/{hold}/release", None)],
        "api-rate-card": [("GET", f"organizations/{org}/rate-card", None),
                          ("PUT", f"organizations/{org}/rate-card",
                           {"rates": [{"channel": "sms", "country": None, "category": None, "unit_price": "0"}]})],
        "api-rate-card-history": [("GET", f"organizations/{org}/rate-card/history", None)],
        "api-estimates": [("POST", "estimates", {"account": master, "channel": "sms", "audience_size": 10})],
        "api-account-top-ups": [("GET", f"accounts/{master}/top-ups", None),
                                ("POST", f"accounts/{master}/top-ups", {"amount": "1000", "billing": BILLING_KA})],
        "api-top-up": [("GET", f"top-ups/{top_up}", None)],
        "api-top-up-cancel": [("POST", f"top-ups/{top_up}/cancel", None)],
        "api-top-up-receipt": [("GET", f"top-ups/{top_up}/receipt", None)],
    }


def _api_url_names() -> set[str]:
    names = set()

    def walk(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns)
            elif isinstance(pattern, URLPattern) and pattern.name and pattern.name.startswith("api-"):
                names.add(pattern.name)

    walk(get_resolver().url_patterns)
    return names


def _call(client, method: str, path: str, body: dict | None):
    return client.generic(method, f"/api/v1/{path}", "" if body is None else json.dumps(body),
                          content_type="application/json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))


def _state(tenant: Tenant) -> dict:
    """Everything of a tenant a stray request could change."""
    tenant.org.refresh_from_db()
    return {
        "org": (tenant.org.name, tenant.org.timezone, tenant.org.credit_management_enabled),
        "accounts": sorted(Account.objects.filter(organization=tenant.org).values_list(
            "name", "balance", "held", "credit_limit")),
        "transactions": Transaction.objects.filter(organization=tenant.org).count(),
        "holds": sorted(Hold.objects.filter(account__organization=tenant.org).values_list("status", "remaining")),
        "rate_cards": RateCardVersion.objects.filter(organization=tenant.org).count(),
        "top_ups": sorted(TopUp.objects.filter(organization=tenant.org).values_list("status", "amount")),
    }


@pytest.fixture
def tenants():
    ensure_payment_defaults()
    return _tenant("Alpha"), _tenant("Bravo")


def test_every_api_endpoint_is_covered_by_the_isolation_cases(tenants):
    alpha, bravo = tenants
    covered = set(_requests(alpha, bravo)) | {"api-organizations"} | NOT_ORG_SCOPED
    assert _api_url_names() == covered, "a new endpoint needs an isolation case here"


def test_a_token_of_org_a_gets_404_for_every_object_of_org_b(tenants):
    alpha, bravo = tenants
    client = token_client(["manage"], organizations=[alpha.org])
    before = _state(bravo)
    for name, calls in _requests(alpha, bravo).items():
        for method, path, body in calls:
            response = _call(client, method, path, body)
            assert response.status_code == 404, (name, method, path, response.content[:200])
            assert response.json()["code"] == "not_found", (name, path)
    assert _state(bravo) == before


def test_the_same_token_works_on_its_own_org(tenants):
    """The isolation cases are real requests: against the token's own org none of them is a 404."""
    alpha, bravo = tenants
    client = token_client(["manage"], organizations=[alpha.org])
    own_cases = _requests(alpha, alpha)
    own_cases["api-transfers"] = own_cases["api-transfers"][:1]
    for name, calls in own_cases.items():
        for method, path, body in calls:
            response = _call(client, method, path, body)
            assert response.status_code < 400 or response.json()["code"] not in ("not_found", "permission_denied"), (
                name, method, path, response.content[:200])


def test_lists_show_only_the_tokens_orgs(tenants):
    alpha, bravo = tenants
    charlie = _tenant("Charlie")
    client = token_client(["read"], organizations=[alpha.org, charlie.org])
    listed = client.get("/api/v1/organizations").json()["results"]
    assert [org["name"] for org in listed] == ["Alpha", "Charlie"]
    assert client.get("/api/v1/organizations", {"search": bravo.org.wallet_id}).json()["results"] == []
    assert client.get("/api/v1/organizations", {"search": str(bravo.org.pk)}).json()["results"] == []
    everywhere = token_client(["read"], all_organizations=True)
    assert len(everywhere.get("/api/v1/organizations").json()["results"]) == 3


def test_a_token_limited_to_orgs_cannot_create_organizations(tenants):
    alpha, _ = tenants
    body = {"name": "New", "currency": "INR"}
    limited = token_client(["manage"], organizations=[alpha.org])
    response = limited.post("/api/v1/organizations", body, format="json")
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert not Organization.objects.filter(name="New").exists()
    assert token_client(["manage"], all_organizations=True).post("/api/v1/organizations", body,
                                                                 format="json").status_code == 201


def test_a_token_that_lost_an_org_loses_it_at_once(tenants):
    alpha, bravo = tenants
    client = token_client(["charge"], organizations=[alpha.org, bravo.org])
    assert client.get(f"/api/v1/accounts/{bravo.master.pk}").status_code == 200
    client.token.organizations.remove(bravo.org)
    assert client.get(f"/api/v1/accounts/{bravo.master.pk}").status_code == 404
    assert client.get(f"/api/v1/accounts/{alpha.master.pk}").status_code == 200
