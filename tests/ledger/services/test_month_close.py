"""Postpaid month close: usage owed at the local month start becomes an invoice, once."""

from datetime import UTC, datetime, timedelta

import pytest

from ledger import services
from ledger.models import Transaction
from tests.factories import make_org

from .helpers import D, charge, refreshed

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("money_path")]


def test_postpaid_month_close_invoices_usage_and_resets_balance():
    org = make_org(payment_scheme="postpaid", credit_limit="1000", timezone_name="Asia/Tokyo")
    master = org.master_account
    charge(master, quantity=300, at=datetime(2026, 10, 20, tzinfo=UTC))
    # 1 Nov 00:30 in Tokyo is 31 Oct 15:30 UTC: October is closed although UTC is still in October.
    close_at = datetime(2026, 10, 31, 15, 30, tzinfo=UTC)
    invoices = services.postpaid_month_close(organization=org, at=close_at)
    assert [(i.kind, i.amount, i.period) for i in invoices] == [("invoice", D("300"), "2026-10")]
    assert refreshed(master).balance == 0 and refreshed(master).available() == D("1000")
    assert services.postpaid_month_close(organization=org, at=close_at + timedelta(hours=1)) == []
    assert Transaction.objects.filter(kind="invoice").count() == 1


def test_month_close_bills_only_usage_before_the_local_month_start():
    org = make_org(payment_scheme="postpaid", credit_limit="1000", timezone_name="UTC")
    master = org.master_account
    charge(master, quantity=100, at=datetime(2026, 10, 20, tzinfo=UTC))
    charge(master, quantity=30, at=datetime(2026, 11, 1, 0, 10, tzinfo=UTC))  # November usage
    invoices = services.postpaid_month_close(organization=org, at=datetime(2026, 11, 1, 0, 15, tzinfo=UTC))
    assert [(i.amount, i.period) for i in invoices] == [(D("100"), "2026-10")]
    assert refreshed(master).balance == D("-30")
