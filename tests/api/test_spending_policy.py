"""The spending policy over HTTP (issue 16): rendered on organizations, changed with PATCH, 402 org_blocked."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission

from ledger.models import Transaction
from ledger.selectors import ROLE_ORG_ADMIN, ROLE_PLATFORM_STAFF

from .helpers import balance, role_user, session_client

pytestmark = pytest.mark.django_db


def org_url(account) -> str:
    return f"/api/v1/organizations/{account.organization_id}"


def test_organizations_render_the_policy_and_a_manage_token_changes_it(manage_client, account):
    assert manage_client.get(org_url(account)).json()["spending_policy"] == "promotional_must_fit"
    response = manage_client.patch(org_url(account), {"spending_policy": "stop_when_depleted",
                                                      "spending_floor": "20"}, format="json")
    assert response.status_code == 200, response.json()
    assert (response.json()["spending_policy"], response.json()["spending_floor"]) == ("stop_when_depleted",
                                                                                      "20.000000")
    history = account.organization.history.first()
    assert (history.spending_policy, history.spending_floor) == ("stop_when_depleted", Decimal("20"))


def test_only_the_manage_scope_and_platform_staff_change_the_policy(read_client, charge_client, account):
    for client in (read_client, charge_client):
        response = client.patch(org_url(account), {"spending_policy": "all_must_fit"}, format="json")
        assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    org_admin = role_user(ROLE_ORG_ADMIN, username="org-admin")  # may change their org, not its policy
    account.organization.admins.add(org_admin)
    org_admin.user_permissions.add(Permission.objects.get(codename="change_organization"))
    refused = session_client(org_admin).patch(org_url(account), {"spending_policy": "all_must_fit"}, format="json")
    assert refused.status_code == 403
    staff = role_user(ROLE_PLATFORM_STAFF, username="pat")
    allowed = session_client(staff).patch(org_url(account), {"spending_policy": "all_must_fit"}, format="json")
    assert allowed.status_code == 200 and allowed.json()["spending_policy"] == "all_must_fit"


def test_a_bad_policy_is_invalid(manage_client, account):
    response = manage_client.patch(org_url(account), {"spending_policy": "anything_goes"}, format="json")
    assert response.status_code == 400 and "spending_policy" in response.json()["errors"]
    response = manage_client.patch(org_url(account), {"spending_floor": "-1"}, format="json")
    assert response.status_code == 400 and "spending_floor" in response.json()["errors"]


def test_a_blocked_org_gets_402_org_blocked_for_charges_and_holds(manage_client, charge_client, account):
    manage_client.patch(org_url(account), {"spending_policy": "stop_when_depleted"}, format="json")
    spent = charge_client.post("/api/v1/charges", {"account": str(account.pk), "channel": "sms", "quantity": 1000,
                                                   "country": "IN", "traffic": "transactional"},
                               format="json", HTTP_IDEMPOTENCY_KEY="all-of-it")
    assert spent.status_code == 201 and balance(account) == Decimal("0")
    charge = charge_client.post("/api/v1/charges", {"account": str(account.pk), "channel": "sms", "country": "IN",
                                                    "traffic": "transactional"},
                                format="json", HTTP_IDEMPOTENCY_KEY="one-more")
    hold = charge_client.post("/api/v1/holds", {"account": str(account.pk), "amount": "1"}, format="json",
                              HTTP_IDEMPOTENCY_KEY="hold")
    for response in (charge, hold):
        assert response.status_code == 402
        body = response.json()
        assert body["code"] == "org_blocked" and "blocked until it recharges" in body["detail"]
    assert Transaction.objects.filter(kind="charge").count() == 1
