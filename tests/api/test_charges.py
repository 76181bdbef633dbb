"""POST /charges, /charges/batch, /holds, /holds/{id}, /holds/{id}/release over HTTP."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ledger import services
from ledger.models import IdempotencyRecord, Transaction
from ratecards.models import RateCardVersion
from tests.factories import SYSTEM, make_org, make_subaccount

from .helpers import balance

pytestmark = pytest.mark.django_db

CHARGE_FIELDS = {"id", "account", "funding_account", "amount", "unit_price", "currency", "rate_card_version",
                 "traffic", "balance_after", "available_after", "created_at"}


def charge(client, body, key="k1"):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post("/api/v1/charges", body, format="json", **headers)


def test_charge_prices_from_the_rate_card_and_returns_the_contract_fields(charge_client, account):
    response = charge(charge_client, {"account": str(account.pk), "channel": "sms", "recipient": "+919812345678",
                                      "quantity": 3})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == CHARGE_FIELDS
    version = RateCardVersion.objects.get(organization=account.organization)
    assert body["amount"] == "0.300000" and body["unit_price"] == "0.100000"
    assert body["currency"] == "INR" and body["traffic"] == "promotional"
    assert body["rate_card_version"] == version.pk
    assert body["account"] == body["funding_account"] == str(account.pk)
    assert body["balance_after"] == "99.700000" and body["available_after"] == "99.700000"
    assert balance(account) == Decimal("99.7")
    txn = Transaction.objects.get(pk=body["id"])
    assert txn.country == "IN" and txn.actor_service == "campaign-engine"


def test_charge_trailing_slash_is_optional(charge_client, account):
    response = charge_client.post("/api/v1/charges/", {"account": str(account.pk), "channel": "email"},
                                  format="json", HTTP_IDEMPOTENCY_KEY="slash")
    assert response.status_code == 201
    assert response.json()["amount"] == "0.010000"


def test_shared_subaccount_charge_debits_the_master(charge_client, account):
    shared = make_subaccount(account.organization, name="Shared", balance_mode="shared")
    body = charge(charge_client, {"account": str(shared.pk), "channel": "sms", "country": "IN"}).json()
    assert body["account"] == str(shared.pk) and body["funding_account"] == str(account.pk)
    assert body["balance_after"] == "99.900000"
    assert Transaction.objects.get(pk=body["id"]).subaccount_id == shared.pk


def test_promotional_charge_not_covered_is_402_and_transactional_goes_negative(charge_client, account):
    refused = charge(charge_client, {"account": str(account.pk), "channel": "sms", "quantity": 1001}, key="a")
    assert refused.status_code == 402
    assert refused.json()["code"] == "insufficient_credits"
    assert balance(account) == Decimal("100")
    allowed = charge(charge_client, {"account": str(account.pk), "channel": "sms", "quantity": 1001,
                                     "traffic": "transactional"}, key="b")
    assert allowed.status_code == 201
    assert allowed.json()["balance_after"] == "-400.500000"
    assert balance(account) == Decimal("-400.5")


def test_charge_without_a_price_is_422_no_rate(charge_client, db):
    org = make_org(name="No rates")
    response = charge(charge_client, {"account": str(org.master_account.pk), "channel": "sms", "country": "IN"})
    assert response.status_code == 422
    assert response.json()["code"] == "no_rate"


def test_charge_with_credit_management_off_is_409(charge_client, account):
    services.organization_update(actor=SYSTEM, organization=account.organization, credit_management_enabled=False)
    response = charge(charge_client, {"account": str(account.pk), "channel": "sms"})
    assert response.status_code == 409
    assert response.json()["code"] == "credit_management_disabled"


@pytest.mark.parametrize(("field", "value", "message"), [
    ("channel", "fax", "not a valid choice"),
    ("quantity", 0, "greater than or equal to 1"),
    ("recipient", "12345", "E.164"),
    ("country", "XX", "ISO 3166-1"),
    ("traffic", "bulk", "not a valid choice"),
])
def test_charge_validation_errors_are_400_with_field_messages(charge_client, account, field, value, message):
    response = charge(charge_client, {"account": str(account.pk), "channel": "sms", field: value})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and set(body) == {"code", "detail", "errors"}
    assert message in " ".join(body["errors"][field])


def test_charge_needs_an_idempotency_key(charge_client, account):
    response = charge(charge_client, {"account": str(account.pk), "channel": "sms"}, key=None)
    assert response.status_code == 400
    assert response.json()["errors"] == {"Idempotency-Key": ["This header is required on requests that move money."]}
    assert balance(account) == Decimal("100")


def test_charge_retry_replays_the_first_response_once(charge_client, account):
    body = {"account": str(account.pk), "channel": "sms", "country": "IN"}
    first = charge(charge_client, body, key="send-1")
    services.credits_grant(actor=SYSTEM, account=account, amount="5")  # the balance moves meanwhile
    again = charge(charge_client, body, key="send-1")
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert Transaction.objects.filter(kind="charge").count() == 1
    assert balance(account) == Decimal("104.9")
    record = IdempotencyRecord.objects.get(key="send-1")
    assert record.caller == f"token:{charge_client.token.pk}"
    # the body is rendered again from the charge's rows (which never change), not kept on the record
    assert record.response_body is None and record.result_id == str(first.json()["id"])


def test_same_key_with_another_body_is_409_idempotency_conflict(charge_client, account):
    charge(charge_client, {"account": str(account.pk), "channel": "sms"}, key="dup")
    response = charge(charge_client, {"account": str(account.pk), "channel": "sms", "quantity": 2}, key="dup")
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_conflict"
    assert Transaction.objects.filter(kind="charge").count() == 1


def test_keys_are_per_caller(charge_client, account):
    from .helpers import token_client

    other = token_client(["charge"], name="otp-sender")
    charge(charge_client, {"account": str(account.pk), "channel": "sms"}, key="same")
    response = charge(other, {"account": str(account.pk), "channel": "sms"}, key="same")
    assert response.status_code == 201 and "Idempotent-Replayed" not in response
    assert Transaction.objects.filter(kind="charge").count() == 2


def test_charge_on_another_orgs_unknown_or_malformed_account_is_404(charge_client, account):
    for account_id in ["6b0c3c4e-3d7e-4a36-9a2e-0d4d6f1f0c11"]:
        response = charge(charge_client, {"account": account_id, "channel": "sms"})
        assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_charge_hot_path_query_count_is_bounded(charge_client, account):
    body = {"account": str(account.pk), "channel": "sms", "country": "IN"}
    charge(charge_client, body, key="warm")  # warm caches (content types, system accounts)
    with CaptureQueriesContext(connection) as queries:
        response = charge(charge_client, body, key="measured")
    assert response.status_code == 201
    # API: token, account, response-body store. Service: price (1), idempotency record (select, insert,
    # update), lock, lots, system account, lot/transaction/posting/account writes; savepoints in tests.
    assert len(queries) <= 18, "\n".join(q["sql"][:120] for q in queries)


# --- batch ---------------------------------------------------------------------------------------


def batch(client, body, key="b1"):
    return client.post("/api/v1/charges/batch", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_batch_charges_items_in_order_with_per_item_status(charge_client, account):
    services.credits_remove(actor=SYSTEM, account=account, amount="99.5")  # 0.5 left
    items = [{"channel": "sms", "country": "IN"}, {"channel": "sms", "quantity": 1000},
             {"channel": "fax"}, {"channel": "sms", "country": "IN", "quantity": 2}]
    response = batch(charge_client, {"account": str(account.pk), "items": items})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert [r["status"] for r in body["results"]] == [201, 402, 400, 201]
    assert body["results"][0]["charge"]["balance_after"] == "0.400000"
    assert body["results"][3]["charge"]["balance_after"] == "0.200000"
    assert body["results"][1]["error"]["code"] == "insufficient_credits"
    assert body["results"][2]["error"]["errors"]["channel"]
    assert body["total"] == "0.300000"
    assert balance(account) == Decimal("0.2")


def test_atomic_batch_charges_all_or_none(charge_client, account):
    items = [{"channel": "sms", "country": "IN"}, {"channel": "sms", "quantity": 1000}]
    response = batch(charge_client, {"account": str(account.pk), "items": items, "atomic": True})
    assert response.status_code == 402
    assert response.json()["code"] == "insufficient_credits"
    assert balance(account) == Decimal("100")
    assert not Transaction.objects.filter(kind="charge").exists()
    ok = batch(charge_client, {"account": str(account.pk), "items": items[:1] * 3, "atomic": True}, key="b2")
    assert ok.status_code == 200 and ok.json()["total"] == "0.300000"


def test_an_invalid_item_of_an_atomic_batch_refuses_the_batch_with_the_items_errors(charge_client, account):
    items = [{"channel": "sms", "country": "IN"}, {"channel": "fax", "quantity": 0}]
    response = batch(charge_client, {"account": str(account.pk), "items": items, "atomic": True})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert set(body["errors"]) == {"items.1.channel", "items.1.quantity"}, body["errors"]
    assert not Transaction.objects.filter(kind="charge").exists()


def test_batch_replay_and_limits(charge_client, account):
    body = {"account": str(account.pk), "items": [{"channel": "email"}] * 5}
    first = batch(charge_client, body, key="rb")
    again = batch(charge_client, body, key="rb")
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert Transaction.objects.filter(kind="charge").count() == 5
    too_many = batch(charge_client, {"account": str(account.pk), "items": [{"channel": "email"}] * 1001}, key="x")
    assert too_many.status_code == 400 and "items" in too_many.json()["errors"]


def test_batch_of_1000_uses_a_bounded_number_of_queries(charge_client, account):
    body = {"account": str(account.pk), "items": [{"channel": "sms", "country": "IN",
                                                   "traffic": "transactional"}] * 1000}
    with CaptureQueriesContext(connection) as queries:
        response = batch(charge_client, body, key="big")
    assert response.status_code == 200
    assert sum(r["status"] == 201 for r in response.json()["results"]) == 1000
    assert balance(account) == Decimal("0")
    assert len(queries) < 1030  # at most one round trip per item (pricing), rows written in bulk


# --- holds ---------------------------------------------------------------------------------------


def test_hold_create_get_charge_against_and_release(charge_client, account):
    created = charge_client.post("/api/v1/holds", {"account": str(account.pk), "amount": "30"}, format="json",
                                 HTTP_IDEMPOTENCY_KEY="h1")
    assert created.status_code == 201, created.json()
    hold = created.json()
    assert set(hold) == {"id", "account", "amount", "remaining", "status", "expires_at"}
    assert hold["status"] == "active" and hold["remaining"] == "30.000000"
    account.refresh_from_db()
    assert account.held == Decimal("30") and account.available() == Decimal("70")
    charged = charge(charge_client, {"account": str(account.pk), "channel": "sms", "quantity": 20,
                                     "hold": hold["id"]}, key="c-hold")
    assert charged.status_code == 201
    assert charge_client.get(f"/api/v1/holds/{hold['id']}").json()["remaining"] == "20.000000"
    released = charge_client.post(f"/api/v1/holds/{hold['id']}/release", HTTP_IDEMPOTENCY_KEY="r1")
    assert released.status_code == 200 and released.json()["status"] == "released"
    account.refresh_from_db()
    assert account.held == 0 and account.balance == Decimal("90")
    again = charge_client.post(f"/api/v1/holds/{hold['id']}/release", HTTP_IDEMPOTENCY_KEY="r2")
    assert again.status_code == 409 and again.json()["code"] == "hold_not_active"
    replay = charge_client.post(f"/api/v1/holds/{hold['id']}/release", HTTP_IDEMPOTENCY_KEY="r1")
    assert replay.status_code == 200 and replay["Idempotent-Replayed"] == "true"


def test_hold_not_covered_is_402(charge_client, account):
    response = charge_client.post("/api/v1/holds", {"account": str(account.pk), "amount": "100.000001"},
                                  format="json", HTTP_IDEMPOTENCY_KEY="big")
    assert response.status_code == 402 and response.json()["code"] == "insufficient_credits"


def test_hold_of_another_org_is_404(charge_client, account, other_account):
    hold = services.hold_create(actor=SYSTEM, account=other_account, amount="1")
    from .helpers import role_user, session_client

    admin = role_user("Org admin")
    account.organization.admins.add(admin)
    response = session_client(admin).get(f"/api/v1/holds/{hold.pk}")
    assert response.status_code == 404
    assert charge_client.get("/api/v1/holds/not-a-uuid").status_code == 404


def test_hold_amount_as_json_number_is_400(charge_client, account):
    response = charge_client.post("/api/v1/holds", {"account": str(account.pk), "amount": 30}, format="json",
                                  HTTP_IDEMPOTENCY_KEY="n")
    assert response.status_code == 400
    assert response.json()["errors"]["amount"] == ['Amounts must be decimal strings such as "12.5", not JSON numbers.']
