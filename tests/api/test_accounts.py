"""Organizations, accounts, credit limits, credits, removals, lots, ledger (JSON and CSV) and transfers."""

import csv
import io
from decimal import Decimal

import pytest

from ledger import services
from ledger.models import Account, CreditLot, Organization, Transaction
from tests.factories import SYSTEM, funded_account, make_org, make_subaccount

from .helpers import balance

pytestmark = pytest.mark.django_db

ACCOUNT_FIELDS = {"id", "organization", "name", "is_master", "balance_mode", "funding_account", "currency", "balance",
                  "credit_limit", "credit_limit_expires_at", "held", "available"}


# --- organizations -----------------------------------------------------------------------------------


def test_create_organization_with_master_account(manage_client):
    response = manage_client.post("/api/v1/organizations", {"name": "Acme", "currency": "INR",
                                                             "timezone": "Asia/Kolkata"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == {"id", "name", "wallet_id", "currency", "timezone", "payment_scheme",
                         "credit_management_enabled", "spending_policy", "spending_floor", "master_account"}
    org = Organization.objects.get(pk=body["id"])
    assert body["wallet_id"] == org.wallet_id and body["payment_scheme"] == "prepaid"
    assert set(body["master_account"]) == ACCOUNT_FIELDS
    assert body["master_account"]["is_master"] is True and body["master_account"]["balance"] == "0.000000"


def test_create_organization_validates_currency_timezone_and_postpaid_limit(manage_client):
    response = manage_client.post("/api/v1/organizations", {"name": "X", "currency": "XYZ", "timezone": "Mars/Base",
                                                             "payment_scheme": "postpaid"}, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert {"currency", "timezone"} <= set(errors)
    postpaid = manage_client.post("/api/v1/organizations", {"name": "X", "currency": "USD",
                                                             "payment_scheme": "postpaid"}, format="json")
    assert postpaid.json()["errors"] == {"credit_limit": ["A postpaid organization needs a credit limit above zero."]}
    ok = manage_client.post("/api/v1/organizations", {"name": "X", "currency": "USD", "payment_scheme": "postpaid",
                                                       "credit_limit": "500"}, format="json")
    assert ok.status_code == 201 and ok.json()["master_account"]["credit_limit"] == "500.000000"
    assert not Organization.objects.filter(currency="XYZ").exists()


def test_create_organization_with_idempotency_key_replays(manage_client):
    body = {"name": "Once", "currency": "USD"}
    first = manage_client.post("/api/v1/organizations", body, format="json", HTTP_IDEMPOTENCY_KEY="org-1")
    again = manage_client.post("/api/v1/organizations/", body, format="json", HTTP_IDEMPOTENCY_KEY="org-1")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert Organization.objects.filter(name="Once").count() == 1


def test_list_and_search_organizations_with_cursor_pages(read_client, db):
    orgs = [make_org(name=f"Brand {i:02d}") for i in range(5)]
    page = read_client.get("/api/v1/organizations?page_size=2").json()
    assert [o["name"] for o in page["results"]] == ["Brand 00", "Brand 01"]
    names = [o["name"] for o in page["results"]]
    while page["next"]:
        page = read_client.get(page["next"]).json()
        names += [o["name"] for o in page["results"]]
    assert names == [f"Brand {i:02d}" for i in range(5)]
    assert [o["id"] for o in read_client.get("/api/v1/organizations?search=brand 03").json()["results"]] == [
        str(orgs[3].pk)]
    assert read_client.get(f"/api/v1/organizations?search={orgs[1].wallet_id}").json()["results"][0]["name"] == \
        "Brand 01"
    assert read_client.get(f"/api/v1/organizations?search={orgs[4].pk}").json()["results"][0]["name"] == "Brand 04"
    bad = read_client.get("/api/v1/organizations?cursor=garbage")
    assert bad.status_code == 400 and bad.json()["errors"] == {"cursor": ["The cursor is not valid."]}


def test_get_and_patch_organization(manage_client, db):
    org = make_org()
    assert manage_client.get(f"/api/v1/organizations/{org.pk}").json()["name"] == "Acme"
    response = manage_client.patch(f"/api/v1/organizations/{org.pk}", {"name": "Acme 2", "timezone": "UTC",
                                                                       "credit_management_enabled": False},
                                   format="json")
    assert response.status_code == 200
    org.refresh_from_db()
    assert (org.name, org.timezone, org.credit_management_enabled) == ("Acme 2", "UTC", False)
    assert manage_client.patch(f"/api/v1/organizations/{org.pk}", {"timezone": "Nowhere"},
                               format="json").status_code == 400
    missing = manage_client.get("/api/v1/organizations/0b7a1c8e-1d4f-4b6a-8a61-000000000000")
    assert missing.status_code == 404 and missing.json() == {"code": "not_found",
                                                             "detail": "No organization 0b7a1c8e-1d4f-4b6a-8a61-000000000000."}


# --- accounts ----------------------------------------------------------------------------------------


def test_create_and_list_accounts(manage_client, db):
    org = make_org()
    response = manage_client.post(f"/api/v1/organizations/{org.pk}/accounts", {"name": "Marketing",
                                                                               "balance_mode": "shared"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["balance_mode"] == "shared" and body["funding_account"] == str(org.master_account.pk)
    listed = manage_client.get(f"/api/v1/organizations/{org.pk}/accounts").json()
    assert [a["name"] for a in listed] == ["Master account", "Marketing"]
    bad = manage_client.post(f"/api/v1/organizations/{org.pk}/accounts", {"name": "", "balance_mode": "x"},
                             format="json")
    assert bad.status_code == 400 and {"name", "balance_mode"} <= set(bad.json()["errors"])


def test_get_account_shared_subaccount_shows_master_money(read_client, db):
    master = funded_account("40")
    shared = make_subaccount(master.organization, balance_mode="shared")
    body = read_client.get(f"/api/v1/accounts/{shared.pk}").json()
    assert set(body) == ACCOUNT_FIELDS
    assert body["balance"] == "40.000000" and body["available"] == "40.000000"
    assert body["funding_account"] == str(master.pk) and body["is_master"] is False


def test_put_credit_limit_permanent_and_temporary(manage_client, db):
    master = funded_account("10")
    response = manage_client.put(f"/api/v1/accounts/{master.pk}/credit-limit", {"amount": "50"}, format="json")
    assert response.status_code == 200
    assert response.json()["credit_limit"] == "50.000000" and response.json()["available"] == "60.000000"
    temp = manage_client.put(f"/api/v1/accounts/{master.pk}/credit-limit/", {"amount": "80", "temporary_days": 3},
                             format="json").json()
    assert temp["credit_limit"] == "80.000000" and temp["credit_limit_expires_at"] is not None
    assert manage_client.put(f"/api/v1/accounts/{master.pk}/credit-limit", {"amount": "-1"},
                             format="json").status_code == 400


# --- credits and removals -------------------------------------------------------------------------------


def test_add_credits_returns_lot_transaction_and_account(manage_client, db):
    master = funded_account("0")
    response = manage_client.post(f"/api/v1/accounts/{master.pk}/credits",
                                  {"amount": "12.5", "expires_in": "1M", "purchase_order": "PO-1"}, format="json",
                                  HTTP_IDEMPOTENCY_KEY="grant-1")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["lot"]["amount"] == "12.500000" and body["lot"]["purchase_order"] == "PO-1"
    assert body["transaction"]["kind"] == "grant" and body["transaction"]["actor"] == "provisioning"
    assert body["account"]["balance"] == "12.500000"
    assert balance(master) == Decimal("12.5")


def test_amount_as_json_number_is_refused(manage_client, db):
    master = funded_account("0")
    response = manage_client.post(f"/api/v1/accounts/{master.pk}/credits", {"amount": 12.5}, format="json",
                                  HTTP_IDEMPOTENCY_KEY="float")
    assert response.status_code == 400
    assert response.json() == {"code": "invalid", "detail": "The request is not valid.", "errors": {
        "amount": ['Amounts must be decimal strings such as "12.5", not JSON numbers.']}}
    for bad in ["1e3", "0", "-5", "1.0000001", "abc"]:
        response = manage_client.post(f"/api/v1/accounts/{master.pk}/credits", {"amount": bad}, format="json",
                                      HTTP_IDEMPOTENCY_KEY=f"bad-{bad}")
        assert response.status_code == 400, bad
    assert balance(master) == 0 and not CreditLot.objects.filter(account=master).exists()


def test_credits_need_key_replay_and_conflict(manage_client, db):
    master = funded_account("0")
    url = f"/api/v1/accounts/{master.pk}/credits"
    assert manage_client.post(url, {"amount": "5"}, format="json").status_code == 400
    first = manage_client.post(url, {"amount": "5"}, format="json", HTTP_IDEMPOTENCY_KEY="g")
    again = manage_client.post(url, {"amount": "5"}, format="json", HTTP_IDEMPOTENCY_KEY="g")
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    conflict = manage_client.post(url, {"amount": "6"}, format="json", HTTP_IDEMPOTENCY_KEY="g")
    assert conflict.status_code == 409 and conflict.json()["code"] == "idempotency_conflict"
    assert balance(master) == Decimal("5")


def test_remove_credits_and_402_over_balance(manage_client, db):
    master = funded_account("10")
    url = f"/api/v1/accounts/{master.pk}/removals"
    refused = manage_client.post(url, {"amount": "10.01", "comment": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="r1")
    assert refused.status_code == 402 and refused.json()["code"] == "insufficient_credits"
    done = manage_client.post(url, {"amount": "4", "comment": "refund"}, format="json", HTTP_IDEMPOTENCY_KEY="r2")
    assert done.status_code == 201
    assert done.json()["transaction"]["kind"] == "removal" and done.json()["account"]["balance"] == "6.000000"
    assert balance(master) == Decimal("6")


# --- lots and ledger --------------------------------------------------------------------------------


def test_lots_with_active_filter(read_client, db):
    master = funded_account("10", expires_in="1M")
    services.credits_grant(actor=SYSTEM, account=master, amount="3", expires_in="never")
    services.credits_remove(actor=SYSTEM, account=master, amount="10")  # empties the 1M lot
    lots = read_client.get(f"/api/v1/accounts/{master.pk}/lots").json()
    assert len(lots["results"]) == 2 and lots["next"] is None
    active = read_client.get(f"/api/v1/accounts/{master.pk}/lots?active=true").json()["results"]
    assert [(lot["amount"], lot["remaining"], lot["expires_at"]) for lot in active] == [
        ("3.000000", "3.000000", None)]
    assert read_client.get(f"/api/v1/accounts/{master.pk}/lots?active=maybe").status_code == 400


def test_ledger_entries_newest_first_with_kinds_and_cursor(manage_client, db):
    master = funded_account("10")
    sub = make_subaccount(master.organization, name="Team")
    services.transfer_create(actor=SYSTEM, from_account=master, to_account=sub, amount="4")
    services.charge_create(actor=SYSTEM, account=master, channel="sms", unit_price="1", quantity=2,
                           reference="camp-1")
    page = manage_client.get(f"/api/v1/accounts/{master.pk}/ledger?page_size=2").json()
    assert [e["kind"] for e in page["results"]] == ["charge", "transfer_out"]
    entry = page["results"][0]
    assert set(entry) == {"id", "transaction", "kind", "amount", "balance_after", "created_at", "actor", "reference",
                          "memo", "channel", "country", "category", "quantity", "unit_price", "subaccount"}
    assert entry["amount"] == "-2.000000" and entry["balance_after"] == "4.000000"
    assert entry["reference"] == "camp-1" and entry["quantity"] == 2 and entry["actor"] == "system"
    rest = manage_client.get(page["next"]).json()
    assert [e["kind"] for e in rest["results"]] == ["grant"] and rest["next"] is None
    sub_entries = manage_client.get(f"/api/v1/accounts/{sub.pk}/ledger?kind=transfer_in").json()["results"]
    assert [(e["kind"], e["amount"]) for e in sub_entries] == [("transfer_in", "4.000000")]
    charges = manage_client.get(f"/api/v1/accounts/{master.pk}/ledger?kind=charge").json()["results"]
    assert len(charges) == 1
    assert manage_client.get(f"/api/v1/accounts/{master.pk}/ledger?kind=bogus").status_code == 400
    assert manage_client.get(f"/api/v1/accounts/{master.pk}/ledger?since=yesterday").status_code == 400
    future = manage_client.get(f"/api/v1/accounts/{master.pk}/ledger?since=2999-01-01T00:00:00Z").json()
    assert future == {"results": [], "next": None}


def test_ledger_csv_streams_every_entry(manage_client, db):
    master = funded_account("100")
    for _ in range(5):
        services.charge_create(actor=SYSTEM, account=master, channel="sms", unit_price="1")
    response = manage_client.get(f"/api/v1/accounts/{master.pk}/ledger?format=csv")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 6
    assert [r["kind"] for r in rows] == ["charge"] * 5 + ["grant"]
    assert rows[0]["balance_after"] == "95.000000"


def test_ledger_csv_runs_in_chunks(manage_client, db, monkeypatch, django_assert_max_num_queries):
    from ledger.api import views

    monkeypatch.setattr(views, "CSV_CHUNK_SIZE", 2)
    master = funded_account("100")
    for _ in range(6):
        services.charge_create(actor=SYSTEM, account=master, channel="sms", unit_price="1")
    response = manage_client.get(f"/api/v1/accounts/{master.pk}/ledger?format=csv")
    with django_assert_max_num_queries(4):  # keyset chunks of 2 rows: 7 entries in 4 queries, none per row
        body = b"".join(response.streaming_content)
    assert body.count(b"\n") == 8
    ids = [line.split(b",")[0] for line in body.splitlines()[1:]]
    assert ids == sorted(ids, key=int, reverse=True) and len(set(ids)) == 7  # newest first, none twice


# --- transfers ---------------------------------------------------------------------------------------


def test_transfer_between_accounts_of_one_org(manage_client, db):
    master = funded_account("10")
    sub = make_subaccount(master.organization)
    response = manage_client.post("/api/v1/transfers", {"from_account": str(master.pk), "to_account": str(sub.pk),
                                                        "amount": "3"}, format="json", HTTP_IDEMPOTENCY_KEY="t1")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["transaction"]["kind"] == "transfer"
    assert body["from_account"]["balance"] == "7.000000" and body["to_account"]["balance"] == "3.000000"
    assert (balance(master), balance(sub)) == (Decimal("7"), Decimal("3"))


def test_transfer_refusals(manage_client, db):
    master = funded_account("10")
    shared = make_subaccount(master.organization, balance_mode="shared")
    other = funded_account("5", name="Other")
    cases = [(shared, "transfer_not_allowed", 409), (other, "transfer_not_allowed", 409)]
    for to, code, status in cases:
        response = manage_client.post("/api/v1/transfers", {"from_account": str(master.pk), "to_account": str(to.pk),
                                                            "amount": "1"}, format="json",
                                      HTTP_IDEMPOTENCY_KEY=f"t-{to.pk}")
        assert (response.status_code, response.json()["code"]) == (status, code)
    own = make_subaccount(master.organization, name="Own")
    too_much = manage_client.post("/api/v1/transfers", {"from_account": str(master.pk), "to_account": str(own.pk),
                                                        "amount": "11"}, format="json", HTTP_IDEMPOTENCY_KEY="t-big")
    assert too_much.status_code == 402 and too_much.json()["code"] == "insufficient_credits"
    assert balance(master) == Decimal("10")
    assert not Transaction.objects.filter(kind="transfer").exists()
    assert Account.objects.get(pk=own.pk).balance == 0
