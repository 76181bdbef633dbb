"""An approval in Chromium, from request to approved: Asha adds credits above the INR threshold (nothing moves,
the org page lists the request), Ben opens it from the org page and approves it, and the balance grows once."""

import re

import pytest
from django.urls import reverse

from approvals.models import ApprovalRequest
from ledger import services
from tests.approvals.conftest import staff, threshold
from tests.factories import make_org

from .test_console import log_in

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture
def org(transactional_db):
    org = make_org(name="Acme Retail")
    services.credits_grant(actor=services.SYSTEM, account=org.master_account, amount="5000", expires_in="6M")
    threshold("INR", "10000")
    return org


def new_page(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    return context, page


def test_a_grant_above_the_threshold_waits_for_a_second_person_and_moves_once_approved(browser, live_server, org,
                                                                                       screenshots):
    staff("asha")
    staff("ben")
    org_url = f"{live_server.url}{reverse('admin:ledger_organization_change', args=[org.pk])}"

    context, page = new_page(browser)
    log_in(page, live_server, "asha")
    page.goto(f"{live_server.url}{reverse('admin:ledger_organization_add-credits', args=[org.pk])}")
    assert "Above ₹10,000.00 this action is sent for approval" in page.inner_text("#approval-note")
    page.fill("#id_amount", "50000")
    page.fill("#id_purchase_order", "PO-2026-0240")
    page.fill("#id_comment", "Annual plan prepayment")
    page.click("#submit-action")
    page.wait_for_selector("#pending-approvals")
    assert "Sent for approval: Add ₹50,000.00 to Master account" in page.inner_text(".messagelist")
    assert page.inner_text("#balance-value") == "₹5,000.00"
    row = page.inner_text("#pending-approvals tr.approval-row")
    assert "asha" in row and "₹50,000.00" in row and "Annual plan prepayment" in row and "view" in row
    page.screenshot(path=str(screenshots / "approval_requested.png"), full_page=True)
    context.close()

    context, page = new_page(browser)
    log_in(page, live_server, "ben")
    page.goto(org_url)
    page.click("#pending-approvals a.approval-link")
    page.wait_for_selector("#decision-form")
    assert "Annual plan prepayment" in page.inner_text("#approval-details")
    page.fill("#id_reason", "Invoice INV-9012 checked")
    page.click("#approve")
    page.wait_for_selector("#approval-decision")
    assert re.search(r"Approved by ben, \d{4}-\d\d-\d\d \d\d:\d\d IST: Invoice INV-9012 checked",
                     page.inner_text("#approval-decision"))
    page.screenshot(path=str(screenshots / "approval_approved.png"), full_page=True)
    page.goto(org_url)
    page.wait_for_selector("#balance-value")
    assert page.inner_text("#balance-value") == "₹55,000.00"
    page.wait_for_selector('#panel-approvals[data-state="loaded"]', state="attached")  # fetched after the page
    assert page.locator("#pending-approvals").count() == 0
    context.close()
    assert ApprovalRequest.objects.get().status == "approved"
    org.master_account.refresh_from_db()
    assert org.master_account.balance == 55000
