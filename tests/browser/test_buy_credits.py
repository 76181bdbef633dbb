"""An org admin buys credits with the sandbox provider in a real browser, from the org page to the PDF, and
sees (then cancels) a pending payment in the banner."""

import io
from decimal import Decimal

import pytest
from django.urls import reverse
from pypdf import PdfReader

from ledger import selectors
from payments.models import TopUp, TopUpStatus
from tests.admin.conftest import user_with_role
from tests.factories import make_org, make_subaccount
from tests.payments.conftest import SANDBOX_SECRET, ensure_payment_defaults

from .test_console import log_in

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture
def org(transactional_db, settings):
    settings.PAYMENTS_SANDBOX, settings.SANDBOX_WEBHOOK_SECRET = True, SANDBOX_SECRET
    settings.STRIPE_SECRET_KEY = settings.RAZORPAY_KEY_ID = settings.BANK_TRANSFER_DETAILS = ""
    ensure_payment_defaults()
    org = make_org(name="Acme Retail India")
    make_subaccount(org, name="Support OTP")
    admin = user_with_role(selectors.ROLE_ORG_ADMIN, "olga", email="olga@acme.example")
    org.admins.add(admin)
    return org


def test_org_admin_buys_credits_with_the_sandbox_from_start_to_pdf(page, live_server, org, screenshots):
    log_in(page, live_server, "olga")
    page.goto(f"{live_server.url}{reverse('admin:ledger_organization_change', args=[org.pk])}")
    assert page.locator("#balance-value").inner_text() == "₹0.00"
    page.click("#buy-credits")
    page.wait_for_selector("#purchase-form")
    page.select_option("#id_account", str(org.master_account.pk))
    page.fill("#id_amount", "1000")
    page.fill("#id_billing_name", "Acme Retail India Pvt Ltd")
    page.fill("#id_billing_address", "4 Brigade Road\nBengaluru 560025")
    page.select_option("#id_billing_country", "IN")
    page.select_option("#id_billing_state", "KA")
    page.fill("#id_billing_tax_id", "29AAACC1234F1Z4")
    page.check("input[name=provider][value=sandbox]")
    page.screenshot(path=str(screenshots / "buy_credits_form.png"), full_page=True)
    page.click("#review-button")

    page.wait_for_selector("#review")
    assert page.locator("#review-net").inner_text() == "₹1,000.00"
    assert page.locator("tr.tax-line").count() == 2  # CGST and SGST: the buyer is in the seller's state
    assert page.locator("#review-total").inner_text() == "₹1,180.00"
    page.screenshot(path=str(screenshots / "buy_credits_review.png"), full_page=True)
    page.click("#proceed")

    page.wait_for_selector("#sandbox-pay")
    assert page.locator("#sandbox-total").inner_text() == "₹1,180.00"
    page.screenshot(path=str(screenshots / "buy_credits_sandbox_checkout.png"), full_page=True)
    page.click("#sandbox-pay")

    page.wait_for_selector("#top-up-status[data-status=paid]", timeout=30000)
    top_up = TopUp.objects.get()
    assert top_up.status == TopUpStatus.PAID
    assert page.locator("#invoice-number").inner_text() == top_up.invoice_number
    page.screenshot(path=str(screenshots / "buy_credits_confirmation.png"), full_page=True)
    with page.expect_download() as download_info:
        page.click("#download-invoice")
    pdf = download_info.value.path().read_bytes()
    (screenshots / "buy_credits_invoice.pdf").write_bytes(pdf)
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert top_up.invoice_number in text and "CGST" in text and "INR 1,180.00" in text

    page.goto(f"{live_server.url}{reverse('admin:ledger_organization_change', args=[org.pk])}")
    assert page.locator("#balance-value").inner_text() == "₹1,000.00"
    first_row = page.locator("#ledger tr.ledger-row").first.inner_text()
    assert "Purchase" in first_row and "+₹1,000.00" in first_row
    assert page.locator("#purchases a.receipt-link").first.inner_text().startswith(top_up.invoice_number)
    page.screenshot(path=str(screenshots / "buy_credits_org_page.png"), full_page=True)
    org.master_account.refresh_from_db()
    assert org.master_account.balance == Decimal("1000")


def test_a_pending_payment_shows_a_banner_with_complete_and_cancel(page, live_server, org, screenshots):
    log_in(page, live_server, "olga")
    page.goto(f"{live_server.url}{reverse('admin:payments_topup_buy', args=[org.pk])}")
    page.fill("#id_amount", "500")
    page.fill("#id_billing_name", "Acme Retail India Pvt Ltd")
    page.fill("#id_billing_address", "1 Marine Drive, Mumbai")
    page.select_option("#id_billing_state", "MH")
    page.click("#review-button")
    page.wait_for_selector("#review")
    assert page.locator("tr.tax-line").count() == 1 and "IGST" in page.locator("#review").inner_text()
    page.click("#proceed")
    page.wait_for_selector("#sandbox-pay")
    page.goto(f"{live_server.url}{reverse('admin:index')}")  # left without paying
    banner = page.locator(".pending-payment-banner")
    assert banner.count() == 1 and "₹590.00" in banner.inner_text()
    page.screenshot(path=str(screenshots / "pending_payment_banner.png"), full_page=True)
    banner.locator("input.cancel-payment").click()
    page.wait_for_selector("#purchase-form")
    assert "was cancelled" in page.locator("ul.messagelist").inner_text()
    assert page.locator(".pending-payment-banner").count() == 0
    assert TopUp.objects.get().status == TopUpStatus.CANCELLED
