"""Amounts are ASCII decimal strings and quantities JSON integers, through the API (issue 13): anything else is 400."""

from decimal import Decimal

import pytest

from ledger.models import Hold, Transaction

from .helpers import balance

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("quantity", ["3", 3.0, True, "３", -1])
def test_a_charge_quantity_is_a_json_integer(charge_client, account, quantity):
    response = charge_client.post("/api/v1/charges", {"account": str(account.pk), "channel": "sms",
                                                      "quantity": quantity}, format="json", HTTP_IDEMPOTENCY_KEY="q")
    assert response.status_code == 400, response.json()
    body = response.json()
    assert body["code"] == "invalid" and "quantity" in body["errors"]
    assert not Transaction.objects.filter(kind="charge").exists() and balance(account) == Decimal("100")


@pytest.mark.parametrize("amount", ["１２", " 12", "12 ", "1e1", "+12", "١٢", "12.", ".5"])
def test_an_amount_is_an_ascii_decimal_string(charge_client, account, amount):
    response = charge_client.post("/api/v1/holds", {"account": str(account.pk), "amount": amount}, format="json",
                                  HTTP_IDEMPOTENCY_KEY="h")
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "invalid" and "amount" in response.json()["errors"]
    assert not Hold.objects.exists()


def test_plain_amount_and_quantity_still_pass(charge_client, account):
    hold = charge_client.post("/api/v1/holds", {"account": str(account.pk), "amount": "12.5"}, format="json",
                              HTTP_IDEMPOTENCY_KEY="ok-hold")
    charged = charge_client.post("/api/v1/charges", {"account": str(account.pk), "channel": "sms", "quantity": 3},
                                 format="json", HTTP_IDEMPOTENCY_KEY="ok-charge")
    assert (hold.status_code, charged.status_code) == (201, 201)
