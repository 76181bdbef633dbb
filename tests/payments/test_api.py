"""The top-up endpoints of the API: create (limits, tax, idempotency), read, list, cancel, receipt, webhooks,
who may buy, and their place in the OpenAPI schema."""

import io
from decimal import Decimal

import pytest
from pypdf import PdfReader
from rest_framework.test import APIClient

from ledger import selectors
from payments.models import ProviderEvent, TopUp, TopUpStatus
from tests.admin.conftest import user_with_role
from tests.api.helpers import token_client
from tests.factories import make_org

from .conftest import BILLING_KA, BILLING_MH
from .helpers import deliver, sandbox_body

TOP_UP_FIELDS = {"id", "account", "amount", "tax", "tax_lines", "total", "currency", "status", "provider",
                 "checkout_url", "expires_at", "invoice_number", "created_at", "paid_at"}


@pytest.fixture
def manage(defaults):
    return token_client(["manage"], name="billing-service")


def create(client, account, body=None, key="k-1", **extra):
    body = body if body is not None else {"amount": "1000", "billing": BILLING_MH}
    return client.post(f"/api/v1/accounts/{account.pk}/top-ups", body, format="json", HTTP_IDEMPOTENCY_KEY=key,
                       **extra)


def test_create_a_top_up_with_igst(org, manage):
    response = create(manage, org.master_account)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == TOP_UP_FIELDS
    assert (body["amount"], body["tax"], body["total"], body["currency"], body["status"], body["provider"]) == (
        "1000.000000", "180.000000", "1180.000000", "INR", "pending", "sandbox")
    assert body["tax_lines"] == [{"name": "IGST", "rate": "18", "amount": "180.000000"}]
    assert body["invoice_number"] is None and body["checkout_url"].startswith("http://testserver/payments/sandbox/")


def test_create_with_cgst_and_sgst(org, manage):
    body = create(manage, org.master_account, {"amount": "1000", "billing": BILLING_KA}).json()
    assert [(line["name"], line["rate"], line["amount"]) for line in body["tax_lines"]] == [
        ("CGST", "9", "90.000000"), ("SGST", "9", "90.000000")]


def test_a_retry_replays_and_another_body_conflicts(org, manage):
    first = create(manage, org.master_account)
    again = create(manage, org.master_account)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json() and TopUp.objects.count() == 1
    other = create(manage, org.master_account, {"amount": "2000", "billing": BILLING_MH})
    assert other.status_code == 409 and other.json()["code"] == "idempotency_conflict"
    assert create(manage, org.master_account, key="").status_code == 400


@pytest.mark.parametrize(("amount", "message"), [("99.99", "₹100.00"), ("100000.01", "₹100,000.00")])
def test_outside_the_limits_is_400_naming_them(org, manage, amount, message):
    response = create(manage, org.master_account, {"amount": amount, "billing": BILLING_MH})
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    assert message in response.json()["errors"]["amount"][0]


def test_a_currency_without_limits_and_json_numbers_are_refused(defaults, manage):
    euro = make_org(name="Euro GmbH", currency="EUR", timezone_name="Europe/Berlin")
    response = create(manage, euro.master_account, {"amount": "100", "billing": {**BILLING_MH, "country": "DE",
                                                                                  "state": ""}})
    assert response.status_code == 400 and "no top-up limits" in response.json()["errors"]["amount"][0]
    response = create(manage, euro.master_account, {"amount": 100, "billing": BILLING_MH}, key="k-2")
    assert response.status_code == 400 and "amount" in response.json()["errors"]


def test_billing_errors_name_their_fields(org, manage):
    response = create(manage, org.master_account, {"amount": "1000", "billing": {"name": "", "address": "x",
                                                                                  "country": "IN"}})
    assert response.status_code == 400
    assert "billing.name" in response.json()["errors"]
    response = create(manage, org.master_account, {"amount": "1000", "billing": {**BILLING_MH, "state": "ZZ"}},
                      key="k-3")
    assert "billing.state" in response.json()["errors"]


def test_read_get_list_cancel_and_receipt(org, manage):
    first = create(manage, org.master_account, key="a").json()
    second = create(manage, org.master_account, {"amount": "200", "billing": BILLING_MH}, key="b").json()
    assert manage.get(f"/api/v1/top-ups/{first['id']}").json()["id"] == first["id"]
    listed = manage.get(f"/api/v1/accounts/{org.master_account.pk}/top-ups").json()
    assert [row["id"] for row in listed["results"]] == [second["id"], first["id"]] and listed["next"] is None
    pending_receipt = manage.get(f"/api/v1/top-ups/{first['id']}/receipt")
    assert pending_receipt.status_code == 409 and pending_receipt.json()["code"] == "top_up_not_pending"
    cancelled = manage.post(f"/api/v1/top-ups/{second['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = manage.post(f"/api/v1/top-ups/{second['id']}/cancel")
    assert again.status_code == 409 and again.json()["code"] == "top_up_not_pending"
    deliver(sandbox_body(TopUp.objects.get(pk=first["id"])))
    paid = manage.get(f"/api/v1/top-ups/{first['id']}").json()
    assert paid["status"] == "paid" and paid["invoice_number"] and paid["checkout_url"] is None
    receipt = manage.get(f"/api/v1/top-ups/{first['id']}/receipt")
    assert receipt.status_code == 200 and receipt["Content-Type"] == "application/pdf"
    text = PdfReader(io.BytesIO(receipt.content)).pages[0].extract_text()
    assert paid["invoice_number"] in text and "INR 1,180.00" in text
    refused = manage.post(f"/api/v1/top-ups/{first['id']}/cancel")
    assert refused.status_code == 409 and TopUp.objects.get(pk=first["id"]).status == TopUpStatus.PAID


def test_scopes_and_other_orgs(org, manage, defaults):
    reader = token_client(["read"], name="dashboard")
    assert create(reader, org.master_account).status_code == 403
    other = make_org(name="Other")
    user = user_with_role(selectors.ROLE_ORG_ADMIN, "admin-of-other")
    other.admins.add(user)
    session = APIClient()
    session.force_login(user)
    assert create(session, org.master_account).status_code == 404
    top_up = create(manage, org.master_account).json()
    assert session.get(f"/api/v1/top-ups/{top_up['id']}").status_code == 404
    assert session.post(f"/api/v1/top-ups/{top_up['id']}/cancel").status_code == 404
    assert create(session, other.master_account).status_code == 201


def test_a_subaccount_user_buys_for_their_own_subaccount_only_with_individual_credits_on(org):
    user = user_with_role(selectors.ROLE_SUBACCOUNT_USER, "sub")
    marketing = org.accounts.get(name="Marketing")
    marketing.owner = user
    marketing.save(update_fields=["owner"])
    session = APIClient()
    session.force_login(user)
    refused = create(session, marketing)
    assert refused.status_code == 403 and "individual user credits" in refused.json()["detail"]
    org.individual_user_credits = True
    org.save(update_fields=["individual_user_credits"])
    assert create(session, marketing, key="k-2").status_code == 201
    assert create(session, org.master_account, key="k-3").status_code == 404  # not theirs to see


def test_the_shared_subaccount_is_refused(org, manage):
    response = create(manage, org.accounts.get(name="Support"))
    assert response.status_code == 400 and "account" in response.json()["errors"]


def test_webhooks_of_unknown_or_offline_providers_are_404(defaults):
    client = APIClient()
    for provider in ("paypal", "bank_transfer", "stripe"):  # stripe: no keys configured here
        response = client.post(f"/api/v1/payments/webhooks/{provider}", {}, format="json")
        assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_top_up_endpoints_are_in_the_openapi_schema(db):
    spec = APIClient().get("/api/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    paths = spec["paths"]
    for path in ("/api/v1/accounts/{id}/top-ups", "/api/v1/top-ups/{id}", "/api/v1/top-ups/{id}/cancel",
                 "/api/v1/top-ups/{id}/receipt", "/api/v1/payments/webhooks/{provider}"):
        assert path in paths, path
    assert "application/pdf" in paths["/api/v1/top-ups/{id}/receipt"]["get"]["responses"]["200"]["content"]
    assert "201" in paths["/api/v1/accounts/{id}/top-ups"]["post"]["responses"]
    operations = {(path, method): operation for path, item in paths.items() if "top-up" in path or "payments" in path
                  for method, operation in item.items() if method in ("get", "post")}
    descriptions = [operation.get("description", "") for operation in operations.values()]
    assert all(descriptions) and len(set(descriptions)) == len(descriptions) == 6  # one of its own each

    def headers(path, method):
        return {p["name"]: p.get("required", False) for p in operations[(path, method)].get("parameters", [])
                if p["in"] == "header"}

    def response_headers(path, method, status):
        return set(operations[(path, method)]["responses"][status].get("headers", {}))

    assert headers("/api/v1/accounts/{id}/top-ups", "post") == {"Idempotency-Key": True}
    assert headers("/api/v1/top-ups/{id}/cancel", "post") == {"Idempotency-Key": False}
    assert "Idempotent-Replayed" in response_headers("/api/v1/accounts/{id}/top-ups", "post", "201")
    assert "Idempotent-Replayed" in response_headers("/api/v1/top-ups/{id}/cancel", "post", "200")
    assert "Retry-After" in response_headers("/api/v1/top-ups/{id}", "get", "429")
    for path, method in (("/api/v1/top-ups/{id}/cancel", "post"), ("/api/v1/top-ups/{id}/receipt", "get")):
        assert "top_up_not_pending" in operations[(path, method)]["responses"]["409"]["description"]
    webhook = operations[("/api/v1/payments/webhooks/{provider}", "post")]["responses"]
    assert {"200", "400", "404", "429"} <= set(webhook) and not {"401", "403"} & set(webhook)
    # request bodies are declared closed for clients (the server ignores undeclared fields: docs/api.md)
    assert spec["components"]["schemas"]["TopUpCreateRequest"]["additionalProperties"] is False


def test_a_cancel_retried_with_its_key_answers_like_the_first(org, manage):
    top_up = create(manage, org.master_account).json()
    url = f"/api/v1/top-ups/{top_up['id']}/cancel"
    first = manage.post(url, HTTP_IDEMPOTENCY_KEY="cancel-1")
    again = manage.post(url, HTTP_IDEMPOTENCY_KEY="cancel-1")
    assert (first.status_code, again.status_code) == (200, 200) and again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true" and first.json()["status"] == "cancelled"
    other = manage.post(url, HTTP_IDEMPOTENCY_KEY="cancel-2")  # a new key: a new request, and it is not pending
    assert other.status_code == 409 and other.json()["code"] == "top_up_not_pending"
    second = create(manage, org.master_account, {"amount": "200", "billing": BILLING_MH}, key="b").json()
    reused = manage.post(f"/api/v1/top-ups/{second['id']}/cancel", HTTP_IDEMPOTENCY_KEY="cancel-1")
    assert reused.status_code == 409 and reused.json()["code"] == "idempotency_conflict"
    assert TopUp.objects.get(pk=second["id"]).status == TopUpStatus.PENDING


def test_amount_is_the_net_amount_granted(org, manage):
    top_up = TopUp.objects.get(pk=create(manage, org.master_account).json()["id"])
    deliver(sandbox_body(top_up))
    org.master_account.refresh_from_db()
    assert org.master_account.balance == Decimal("1000")


def test_webhooks_are_throttled_per_address_with_a_json_429(defaults, monkeypatch):
    """Past the per-address quota a webhook is 429 `throttled` (JSON, Retry-After) before its signature is read;
    another address, or another provider's endpoint, has its own quota."""
    from payments.api.views import WebhookRateThrottle

    monkeypatch.setattr(WebhookRateThrottle, "THROTTLE_RATES", {"payment_webhook": "2/min"})
    client = APIClient()

    def post(address, provider="sandbox"):
        return client.post(f"/api/v1/payments/webhooks/{provider}", {"id": "evt_x"}, format="json",
                           REMOTE_ADDR=address)

    assert [post("198.51.100.7").status_code for _ in range(2)] == [400, 400]  # unsigned: counted, refused
    throttled = post("198.51.100.7")
    assert throttled.status_code == 429 and throttled["Content-Type"] == "application/json"
    assert throttled.json()["code"] == "throttled" and int(throttled["Retry-After"]) > 0
    assert post("198.51.100.8").status_code == 400  # another address
    assert post("198.51.100.7", provider="stripe").status_code == 404  # another provider's quota
    assert ProviderEvent.objects.count() == 0
