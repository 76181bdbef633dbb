"""Races through the HTTP views on PostgreSQL: parallel charges never overspend; one key, one effect."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from ledger.invariants import check_invariants
from ledger.models import Account, Transaction
from tests.concurrency import run_in_threads
from tests.factories import funded_account

from .helpers import token_client, with_rate_card

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("postgres_only")]


def test_parallel_promotional_charges_never_overspend():
    account = funded_account("10")
    with_rate_card(account.organization)  # sms default 0.5
    client_token = token_client(["charge"], name="campaign-engine")

    def send(index):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {client_token.plain}")
        response = client.post("/api/v1/charges", {"account": str(account.pk), "channel": "sms", "quantity": 2},
                               format="json", HTTP_IDEMPOTENCY_KEY=f"send-{index}")
        return response.status_code, response.json()

    results = run_in_threads(16, send)
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] * 10 + [402] * 6, results
    assert all(body["code"] == "insufficient_credits" for status, body in results if status == 402)
    account.refresh_from_db()
    assert account.balance == Decimal("0") and account.available() == Decimal("0")
    assert Transaction.objects.filter(kind="charge").count() == 10
    # every 201 saw a distinct balance_after: the charges serialized on the account lock
    assert sorted(Decimal(body["balance_after"]) for status, body in results if status == 201) == [
        Decimal(n) for n in range(10)]
    assert check_invariants(Account.objects.filter(pk=account.pk)) == []


def test_concurrent_requests_with_one_key_have_one_effect():
    account = funded_account("10")
    with_rate_card(account.organization)
    client_token = token_client(["charge"], name="otp-sender")

    def send(index):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {client_token.plain}")
        response = client.post("/api/v1/charges", {"account": str(account.pk), "channel": "sms"},
                               format="json", HTTP_IDEMPOTENCY_KEY="the-one")
        return response.status_code, response.json(), response.get("Idempotent-Replayed")

    results = run_in_threads(8, send)
    assert {status for status, _, _ in results} == {201}, results
    assert len({body["id"] for _, body, _ in results}) == 1
    assert sum(replayed == "true" for _, _, replayed in results) == 7
    assert Transaction.objects.filter(kind="charge").count() == 1
    account.refresh_from_db()
    assert account.balance == Decimal("9.5")
