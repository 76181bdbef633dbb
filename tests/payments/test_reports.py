"""Finance reports of payments: per provider, currency and month; tax per tax line; open top-ups; the
reconciliation payments = credits purchased + tax per currency; CSV like the other finance pages."""

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from ledger import selectors
from ledger.models import Organization
from payments import reports, services
from tests.admin.conftest import user_with_role

from .conftest import BILLING_MH, BILLING_US
from .helpers import deliver, sandbox_body, start_top_up


@pytest.fixture
def sales(org, usd_org):
    paid = [start_top_up(org.master_account, "1000"), start_top_up(org.master_account, "100.05", billing=BILLING_MH),
            start_top_up(usd_org.master_account, "50", billing=BILLING_US)]
    for top_up in paid:
        deliver(sandbox_body(top_up))
    failed = start_top_up(org.master_account, "300")
    deliver(sandbox_body(failed, "payment.failed"))
    cancelled = start_top_up(org.master_account, "400")
    services.top_up_cancel(actor=services.provider_actor("sandbox"), top_up=cancelled)
    deliver(sandbox_body(cancelled))  # to refund
    return Organization.objects.all()


def test_reconciliation_ties_out_per_currency(sales):
    rows = {row["currency"]: row for row in reports.reconciliation(sales, None, None)}
    inr = rows["INR"]
    assert inr["credits"] == Decimal("1100.05") and inr["tax"] == Decimal("198.01")
    assert inr["payments"] == Decimal("1298.06") == inr["cleared"] and inr["difference"] == 0
    assert rows["USD"]["payments"] == Decimal("50") and rows["USD"]["difference"] == 0


def test_tax_per_line_and_payments_per_provider(sales):
    tax = {(row["currency"], row["name"]): row["amount"] for row in reports.tax_collected(sales, None, None)}
    assert tax == {("INR", "CGST"): Decimal("90.00"), ("INR", "SGST"): Decimal("90.00"),
                   ("INR", "IGST"): Decimal("18.01")}
    payments = {(row["provider"], row["currency"]): row["received"] for row in reports.payments_received(sales, None, None)}
    assert payments == {("sandbox", "INR"): Decimal("1298.06"), ("sandbox", "USD"): Decimal("50")}
    assert [top_up.status for top_up in reports.open_top_ups(sales, None, None)] == ["failed"]
    assert [payment.amount for payment in reports.refunds_due(sales)] == [Decimal("472.00")]


def test_the_page_and_its_csv(sales, client):
    client.force_login(user_with_role(selectors.ROLE_FINANCE, "fin"))
    page = client.get(reverse("finance_payments:report"))
    html = page.content.decode()
    assert page.status_code == 200 and 'id="reconciliation"' in html and "IGST" in html and "472.00" in html
    assert 'id="payments-report"' in client.get(reverse("finance:index")).content.decode()
    response = client.get(reverse("finance_payments:report") + "?format=csv&table=reconciliation")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["currency", "payments_received", "credits_purchased", "tax", "payments_clearing", "difference"]
    assert rows[1][0] == "INR" and Decimal(rows[1][-1]) == 0
    tax = client.get(reverse("finance_payments:report") + "?format=csv&table=tax")
    assert "CGST" in b"".join(tax.streaming_content).decode()


def test_org_admins_see_their_orgs_only_and_subaccount_users_nothing(sales, client, org_admin):
    client.force_login(org_admin)
    html = client.get(reverse("finance_payments:report")).content.decode()
    assert "1,298.06" in html and "USD" not in html
    client.force_login(user_with_role(selectors.ROLE_SUBACCOUNT_USER, "sub"))
    assert client.get(reverse("finance_payments:report")).status_code == 403


def test_every_payments_csv_neutralises_formulas(defaults, client):
    """The payments tables join the CSV-injection check of tests/finance/test_csv_injection.py: org, account
    and tax line names that start a formula are quoted, amounts stay plain numbers."""
    from payments.finance_views import TABLES
    from payments.models import TaxRule
    from tests.factories import make_org, make_subaccount
    from tests.finance.test_csv_injection import HOSTILE, TRIGGERS, _is_number

    TaxRule.objects.filter(currency="INR").update(inter_state_name="=IGST", intra_state_names="+CGST,@SGST")
    org = make_org(name=HOSTILE["org"])
    account = make_subaccount(org, name=HOSTILE["subaccount"], balance_mode="own")
    deliver(sandbox_body(start_top_up(account, "1000")))
    deliver(sandbox_body(start_top_up(account, "100", billing=BILLING_MH)))
    deliver(sandbox_body(start_top_up(org.master_account, "300"), "payment.failed"))
    client.force_login(user_with_role(selectors.ROLE_FINANCE, "fin"))
    seen = set()
    for table in TABLES:
        response = client.get(reverse("finance_payments:report") + f"?format=csv&table={table}")
        assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
        assert len(rows) > 1, table
        for row in rows[1:]:
            for cell in row:
                seen.add(cell)
                if cell.lstrip(" \n")[:1] in TRIGGERS:
                    assert _is_number(cell), f"{table}: formula cell {cell!r}"
    assert {"'=IGST", "'+CGST", "'@SGST", "'" + HOSTILE["org"]} <= seen
