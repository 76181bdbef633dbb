"""Top-ups on the org activity timeline: who started each one, for how much, and where it stands."""

import pytest
from django.urls import reverse

from ledger import services as ledger
from payments.models import TopUp
from tests.admin.conftest import user_with_role

from .helpers import deliver, sandbox_body, start_top_up

pytestmark = pytest.mark.django_db


def test_the_timeline_shows_each_top_up_with_its_buyer_and_outcome(client, org, buyer):
    paid = start_top_up(org.master_account, amount="1000", actor=buyer)
    assert deliver(sandbox_body(paid)).status_code == 200
    paid.refresh_from_db()
    start_top_up(org.master_account, amount="2500", actor=ledger.Actor(service="billing-portal"))
    client.force_login(user_with_role("Finance", "fin"))
    response = client.get(reverse("finance:activity", args=[org.pk]), {"source": "top_ups"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "₹1,000.00 for Master account (total ₹1,180.00 with tax)" in page
    assert f"invoice {paid.invoice_number}" in page and buyer.user.username in page
    assert "₹2,500.00 for Master account" in page and "pending" in page and "billing-portal" in page
    assert reverse("admin:payments_topup_change", args=[paid.pk]) in page
    assert TopUp.objects.filter(organization=org).count() == 2
