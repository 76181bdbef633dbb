"""The API is exempt from approvals (service tokens are trusted machines, docs/policies.md): above the threshold
a grant, a removal and a credit limit are made at once, and `comment` stays optional."""

from decimal import Decimal

import pytest

from approvals.models import ApprovalRequest
from tests.api.helpers import token_client
from tests.factories import funded_account

from .conftest import threshold

pytestmark = pytest.mark.django_db


def test_api_money_calls_above_the_threshold_are_made_at_once_without_a_reason():
    master = funded_account("100")
    threshold("INR", "10")
    client = token_client(["manage"], name="provisioning")
    base = f"/api/v1/accounts/{master.pk}"
    assert client.post(f"{base}/credits", {"amount": "5000", "expires_in": "1M"}, format="json",
                       HTTP_IDEMPOTENCY_KEY="g-1").status_code == 201
    assert client.post(f"{base}/removals", {"amount": "50"}, format="json",
                       HTTP_IDEMPOTENCY_KEY="r-1").status_code == 201
    limit = client.put(f"{base}/credit-limit", {"amount": "900"}, format="json")
    assert limit.status_code == 200, limit.json()
    master.refresh_from_db()
    assert master.balance == Decimal("5050") and master.credit_limit == Decimal("900")
    assert not ApprovalRequest.objects.exists()
